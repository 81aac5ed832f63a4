package io.lcmlora.nn;

import ai.djl.ndarray.NDArray;

/** torch.nn.GroupNorm(groups, channels, eps, affine=True). */
public final class GroupNorm {
    private final int groups;
    private final double eps;
    private final NDArray weight;
    private final NDArray bias;

    public GroupNorm(Weights vb, int groups, long channels, double eps) {
        if (channels % groups != 0) {
            throw new IllegalArgumentException(vb.path() + ": " + channels + " channels not divisible by " + groups + " groups");
        }
        this.groups = groups;
        this.eps = eps;
        this.weight = vb.get("weight", channels);
        this.bias = vb.get("bias", channels);
    }

    public NDArray forward(NDArray x) {
        return Ops.groupNorm(x, groups, weight, bias, eps);
    }
}
