package io.lcmlora.nn;

import ai.djl.ndarray.NDArray;

/** torch.nn.LayerNorm over the last dimension, elementwise affine. */
public final class LayerNorm {
    private final double eps;
    private final NDArray weight;
    private final NDArray bias;

    public LayerNorm(Weights vb, long dim, double eps) {
        this.eps = eps;
        this.weight = vb.get("weight", dim);
        this.bias = vb.get("bias", dim);
    }

    public NDArray forward(NDArray x) {
        return Ops.layerNorm(x, weight, bias, eps);
    }
}
