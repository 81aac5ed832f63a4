package io.lcmlora.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import io.lcmlora.nn.Weights;

/** torchvision's {@code InceptionB} (Mixed_6a, unpatched): [B, in, 35, 35] -> [B, 480 + in, 17, 17]. */
final class InceptionB {
    private final BasicConv2d branch3x3;
    private final BasicConv2d branch3x3dbl_1;
    private final BasicConv2d branch3x3dbl_2;
    private final BasicConv2d branch3x3dbl_3;

    InceptionB(Weights vb, int in) {
        branch3x3 = new BasicConv2d(vb.pp("branch3x3"), in, 384, 3, 2, 0);
        branch3x3dbl_1 = new BasicConv2d(vb.pp("branch3x3dbl_1"), in, 64, 1, 1, 0);
        branch3x3dbl_2 = new BasicConv2d(vb.pp("branch3x3dbl_2"), 64, 96, 3, 1, 1);
        branch3x3dbl_3 = new BasicConv2d(vb.pp("branch3x3dbl_3"), 96, 96, 3, 2, 0);
        vb.register(this);
    }

    NDArray forward(NDArray x) {
        NDArray b3 = branch3x3.forward(x);
        NDArray bd = branch3x3dbl_3.forward(branch3x3dbl_2.forward(branch3x3dbl_1.forward(x)));
        NDArray bp = InceptionPools.max3x3Stride2(x);
        return NDArrays.concat(new NDList(b3, bd, bp), 1);
    }
}
