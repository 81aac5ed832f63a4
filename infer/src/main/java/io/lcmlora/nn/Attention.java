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
        return forward(x, context, null);
    }

    /**
     * {@link #forward(NDArray, NDArray)} with the keys and values of a cross-attention taken from {@code memo} when it
     * is not null and was opened for this very {@code context} (computed when the memo opened or at first use, then reused: see
     * {@link KeyValueMemo}); self-attention ({@code context} null) never uses it.
     */
    public NDArray forward(NDArray x, NDArray context, KeyValueMemo memo) {
        NDArray q = toQ.forward(x); // [B, T, H*D]
        NDArray o;
        if (context != null && memo != null && memo.context() == context) {
            NDArray[] kv = memo.keysValues(toK, toV); // [B, S, H*D] each, owned by the memo
            o = Ops.multiHeadAttention(q, kv[0], kv[1], c.heads());
        } else {
            NDArray ctx = context == null ? x : context;
            NDArray k = toK.forward(ctx); // [B, S, H*D]
            NDArray v = toV.forward(ctx);
            o = Ops.multiHeadAttention(q, k, v, c.heads()); // heads split and merged: [B, T, H*D]
            k.close();
            v.close();
        }
        q.close();
        NDArray y = toOut.forward(o);
        o.close();
        return y;
    }
}
