package io.lcmlora.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import io.lcmlora.nn.Weights;

/**
 * pytorch-fid's {@code FIDInceptionC} (torchvision {@code InceptionC}, factorised 1x7/7x1 convs, with a
 * count_include_pad=False average pool): [B, 768, 17, 17] -> [B, 768, 17, 17].
 */
final class FidInceptionC {
    private final BasicConv2d branch1x1;
    private final BasicConv2d branch7x7_1;
    private final BasicConv2d branch7x7_2;
    private final BasicConv2d branch7x7_3;
    private final BasicConv2d branch7x7dbl_1;
    private final BasicConv2d branch7x7dbl_2;
    private final BasicConv2d branch7x7dbl_3;
    private final BasicConv2d branch7x7dbl_4;
    private final BasicConv2d branch7x7dbl_5;
    private final BasicConv2d branchPool;

    FidInceptionC(Weights vb, int in, int c7) {
        branch1x1 = new BasicConv2d(vb.pp("branch1x1"), in, 192, 1, 1, 0);
        branch7x7_1 = new BasicConv2d(vb.pp("branch7x7_1"), in, c7, 1, 1, 0);
        branch7x7_2 = new BasicConv2d(vb.pp("branch7x7_2"), c7, c7, 1, 7, 1, 0, 3);
        branch7x7_3 = new BasicConv2d(vb.pp("branch7x7_3"), c7, 192, 7, 1, 1, 3, 0);
        branch7x7dbl_1 = new BasicConv2d(vb.pp("branch7x7dbl_1"), in, c7, 1, 1, 0);
        branch7x7dbl_2 = new BasicConv2d(vb.pp("branch7x7dbl_2"), c7, c7, 7, 1, 1, 3, 0);
        branch7x7dbl_3 = new BasicConv2d(vb.pp("branch7x7dbl_3"), c7, c7, 1, 7, 1, 0, 3);
        branch7x7dbl_4 = new BasicConv2d(vb.pp("branch7x7dbl_4"), c7, c7, 7, 1, 1, 3, 0);
        branch7x7dbl_5 = new BasicConv2d(vb.pp("branch7x7dbl_5"), c7, 192, 1, 7, 1, 0, 3);
        branchPool = new BasicConv2d(vb.pp("branch_pool"), in, 192, 1, 1, 0);
        vb.register(this);
    }

    NDArray forward(NDArray x) {
        NDArray b1 = branch1x1.forward(x);
        NDArray b7 = branch7x7_3.forward(branch7x7_2.forward(branch7x7_1.forward(x)));
        NDArray bd = branch7x7dbl_1.forward(x);
        bd = branch7x7dbl_5.forward(branch7x7dbl_4.forward(branch7x7dbl_3.forward(branch7x7dbl_2.forward(bd))));
        NDArray bp = branchPool.forward(InceptionPools.avg3x3Same(x));
        return NDArrays.concat(new NDList(b1, b7, bd, bp), 1);
    }
}
