package io.lcmlora.nn;

import ai.djl.ndarray.NDArray;

/** torch.nn.Linear: weight [out, in], optional bias [out]. */
public final class Linear extends AdaptableLayer {
    private final long in;
    private final long out;

    public Linear(Weights vb, long in, long out, boolean bias) {
        super(vb.path(), vb.get("weight", out, in), bias ? vb.get("bias", out) : null);
        this.in = in;
        this.out = out;
        vb.register(this);
    }

    public long in() {
        return in;
    }

    public long out() {
        return out;
    }

    @Override
    protected NDArray base(NDArray x) {
        return Ops.linear(x, weight, bias);
    }
}
