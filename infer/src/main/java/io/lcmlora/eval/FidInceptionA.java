package io.lcmlora.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import io.lcmlora.nn.Weights;

/**
 * pytorch-fid's {@code FIDInceptionA} (torchvision {@code InceptionA} with a count_include_pad=False average
 * pool): [B, in, H, W] -> [B, 224 + poolFeatures, H, W].
 */
final class FidInceptionA {
    private final BasicConv2d branch1x1;
    private final BasicConv2d branch5x5_1;
    private final BasicConv2d branch5x5_2;
    private final BasicConv2d branch3x3dbl_1;
    private final BasicConv2d branch3x3dbl_2;
    private final BasicConv2d branch3x3dbl_3;
    private final BasicConv2d branchPool;

    FidInceptionA(Weights vb, int in, int poolFeatures) {
        branch1x1 = new BasicConv2d(vb.pp("branch1x1"), in, 64, 1, 1, 0);
        branch5x5_1 = new BasicConv2d(vb.pp("branch5x5_1"), in, 48, 1, 1, 0);
        branch5x5_2 = new BasicConv2d(vb.pp("branch5x5_2"), 48, 64, 5, 1, 2);
        branch3x3dbl_1 = new BasicConv2d(vb.pp("branch3x3dbl_1"), in, 64, 1, 1, 0);
        branch3x3dbl_2 = new BasicConv2d(vb.pp("branch3x3dbl_2"), 64, 96, 3, 1, 1);
        branch3x3dbl_3 = new BasicConv2d(vb.pp("branch3x3dbl_3"), 96, 96, 3, 1, 1);
        branchPool = new BasicConv2d(vb.pp("branch_pool"), in, poolFeatures, 1, 1, 0);
        vb.register(this);
    }

    NDArray forward(NDArray x) {
        NDArray b1 = branch1x1.forward(x);
        NDArray b5 = branch5x5_2.forward(branch5x5_1.forward(x));
        NDArray b3 = branch3x3dbl_3.forward(branch3x3dbl_2.forward(branch3x3dbl_1.forward(x)));
        NDArray bp = branchPool.forward(InceptionPools.avg3x3Same(x));
        return NDArrays.concat(new NDList(b1, b5, b3, bp), 1);
    }
}
