package io.lcmlora.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import io.lcmlora.nn.Weights;

/** torchvision's {@code InceptionD} (Mixed_7a, unpatched): [B, 768, 17, 17] -> [B, 1280, 8, 8]. */
final class InceptionD {
    private final BasicConv2d branch3x3_1;
    private final BasicConv2d branch3x3_2;
    private final BasicConv2d branch7x7x3_1;
    private final BasicConv2d branch7x7x3_2;
    private final BasicConv2d branch7x7x3_3;
    private final BasicConv2d branch7x7x3_4;

    InceptionD(Weights vb, int in) {
        branch3x3_1 = new BasicConv2d(vb.pp("branch3x3_1"), in, 192, 1, 1, 0);
        branch3x3_2 = new BasicConv2d(vb.pp("branch3x3_2"), 192, 320, 3, 2, 0);
        branch7x7x3_1 = new BasicConv2d(vb.pp("branch7x7x3_1"), in, 192, 1, 1, 0);
        branch7x7x3_2 = new BasicConv2d(vb.pp("branch7x7x3_2"), 192, 192, 1, 7, 1, 0, 3);
        branch7x7x3_3 = new BasicConv2d(vb.pp("branch7x7x3_3"), 192, 192, 7, 1, 1, 3, 0);
        branch7x7x3_4 = new BasicConv2d(vb.pp("branch7x7x3_4"), 192, 192, 3, 2, 0);
        vb.register(this);
    }

    NDArray forward(NDArray x) {
        NDArray b3 = branch3x3_2.forward(branch3x3_1.forward(x));
        NDArray b7 = branch7x7x3_4.forward(branch7x7x3_3.forward(branch7x7x3_2.forward(branch7x7x3_1.forward(x))));
        NDArray bp = InceptionPools.max3x3Stride2(x);
        return NDArrays.concat(new NDList(b3, b7, bp), 1);
    }
}
