package io.lcmlora.nn;

import ai.djl.ndarray.NDArray;

/**
 * diffusers {@code Attention} (AttnProcessor2_0) on token sequences: {@code to_q}, {@code to_k}, {@code to_v},
 * {@code to_out.0}; heads split from the inner dimension; fused scaled-dot-product attention (memory grows
 * linearly with tokens where libtorch has a flash/memory-efficient kernel).
 */
public final class Attention {
    /**
     * @param queryDim channels of the query input
     * @param contextDim channels of the key/value input (= queryDim for self-attention)
     * @param heads number of heads
     * @param headDim channels per head
     * @param qkvBias whether to_q/to_k/to_v have biases (UNet: no; VAE: yes)
     */
    public record Config(long queryDim, long contextDim, int heads, long headDim, boolean qkvBias) {
        public long inner() {
            return heads * headDim;
        }
    }

    private final Config c;
    private final Linear toQ;
    private final Linear toK;
    private final Linear toV;
    private final Linear toOut;

    public Attention(Weights vb, Config c) {
        this.c = c;
        toQ = new Linear(vb.pp("to_q"), c.queryDim(), c.inner(), c.qkvBias());
        toK = new Linear(vb.pp("to_k"), c.contextDim(), c.inner(), c.qkvBias());
        toV = new Linear(vb.pp("to_v"), c.contextDim(), c.inner(), c.qkvBias());
        toOut = new Linear(vb.pp("to_out").pp(0), c.inner(), c.queryDim(), true);
    }

    /**
     * x [B, T, Cq], context [B, S, Cc] or null (self-attention) -> [B, T, Cq]. Intermediates are closed once consumed
     * (freed at once without gradients; autograd holds what backward needs).
     */
    public NDArray forward(NDArray x, NDArray context) {
        NDArray ctx = context == null ? x : context;
        NDArray q = heads(toQ.forward(x));
        NDArray k = heads(toK.forward(ctx));
        NDArray v = heads(toV.forward(ctx));
        NDArray o = Ops.attention(q, k, v); // [B, H, T, D]
        q.close();
        k.close();
        v.close();
        long b = o.getShape().get(0);
        long t = o.getShape().get(2);
        NDArray merged = o.transpose(0, 2, 1, 3).reshape(b, t, c.inner()); // [B, H, T, D] -> [B, T, H*D]
        o.close();
        NDArray y = toOut.forward(merged);
        merged.close();
        return y;
    }

    /** [B, T, H*D] -> [B, H, T, D]. */
    private NDArray heads(NDArray x) {
        long b = x.getShape().get(0);
        long t = x.getShape().get(1);
        NDArray y = x.reshape(b, t, c.heads(), c.headDim()).transpose(0, 2, 1, 3); // a view of x's storage
        x.close();
        return y;
    }
}
