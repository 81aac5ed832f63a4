package io.lcmlora.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import io.lcmlora.nn.Weights;

/**
 * pytorch-fid's {@code FIDInceptionE_1} / {@code FIDInceptionE_2} (torchvision {@code InceptionE}):
 * [B, in, 8, 8] -> [B, 2048, 8, 8]. E_1 (Mixed_7b) pools with a count_include_pad=False average, E_2
 * (Mixed_7c) with a 3x3 max pool, as the TF graph the FID weights come from does.
 */
final class FidInceptionE {
    /** The pooling branch's pool: the only difference between the two patched E blocks. */
    enum PoolKind { AVERAGE_E1, MAX_E2 }

    private final PoolKind pool;
    private final BasicConv2d branch1x1;
    private final BasicConv2d branch3x3_1;
    private final BasicConv2d branch3x3_2a;
    private final BasicConv2d branch3x3_2b;
    private final BasicConv2d branch3x3dbl_1;
    private final BasicConv2d branch3x3dbl_2;
    private final BasicConv2d branch3x3dbl_3a;
    private final BasicConv2d branch3x3dbl_3b;
    private final BasicConv2d branchPool;

    FidInceptionE(Weights vb, int in, PoolKind pool) {
        this.pool = pool;
        branch1x1 = new BasicConv2d(vb.pp("branch1x1"), in, 320, 1, 1, 0);
        branch3x3_1 = new BasicConv2d(vb.pp("branch3x3_1"), in, 384, 1, 1, 0);
        branch3x3_2a = new BasicConv2d(vb.pp("branch3x3_2a"), 384, 384, 1, 3, 1, 0, 1);
        branch3x3_2b = new BasicConv2d(vb.pp("branch3x3_2b"), 384, 384, 3, 1, 1, 1, 0);
        branch3x3dbl_1 = new BasicConv2d(vb.pp("branch3x3dbl_1"), in, 448, 1, 1, 0);
        branch3x3dbl_2 = new BasicConv2d(vb.pp("branch3x3dbl_2"), 448, 384, 3, 1, 1);
        branch3x3dbl_3a = new BasicConv2d(vb.pp("branch3x3dbl_3a"), 384, 384, 1, 3, 1, 0, 1);
        branch3x3dbl_3b = new BasicConv2d(vb.pp("branch3x3dbl_3b"), 384, 384, 3, 1, 1, 1, 0);
        branchPool = new BasicConv2d(vb.pp("branch_pool"), in, 192, 1, 1, 0);
        vb.register(this);
    }

    NDArray forward(NDArray x) {
        NDArray b1 = branch1x1.forward(x);
        NDArray b3 = branch3x3_1.forward(x);
        b3 = NDArrays.concat(new NDList(branch3x3_2a.forward(b3), branch3x3_2b.forward(b3)), 1);
        NDArray bd = branch3x3dbl_2.forward(branch3x3dbl_1.forward(x));
        bd = NDArrays.concat(new NDList(branch3x3dbl_3a.forward(bd), branch3x3dbl_3b.forward(bd)), 1);
        NDArray pooled = switch (pool) {
            case AVERAGE_E1 -> InceptionPools.avg3x3Same(x);
            case MAX_E2 -> InceptionPools.max3x3Same(x);
        };
        NDArray bp = branchPool.forward(pooled);
        return NDArrays.concat(new NDList(b1, b3, bd, bp), 1);
    }
}
