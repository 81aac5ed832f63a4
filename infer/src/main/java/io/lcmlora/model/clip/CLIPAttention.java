package io.lcmlora.model.clip;

import ai.djl.ndarray.NDArray;
import io.lcmlora.nn.Linear;
import io.lcmlora.nn.Ops;
import io.lcmlora.nn.Weights;

/**
 * transformers {@code CLIPAttention}: multi-head self-attention with biased {@code q_proj}, {@code k_proj},
 * {@code v_proj}, {@code out_proj}; softmax(q k^T / sqrt(d) + mask) v with the additive mask given by the
 * caller (the causal mask for the text tower, none for the vision tower).
 */
public final class CLIPAttention {
    private final int heads;
    private final long headDim;
    private final long embedDim;
    private final Linear qProj;
    private final Linear kProj;
    private final Linear vProj;
    private final Linear outProj;

    public CLIPAttention(Weights vb, ClipEncoderSpec c) {
        heads = c.numAttentionHeads();
        headDim = c.headDim();
        embedDim = c.hiddenSize();
        qProj = new Linear(vb.pp("q_proj"), embedDim, embedDim, true);
        kProj = new Linear(vb.pp("k_proj"), embedDim, embedDim, true);
        vProj = new Linear(vb.pp("v_proj"), embedDim, embedDim, true);
        outProj = new Linear(vb.pp("out_proj"), embedDim, embedDim, true);
    }

    /** x [B, T, D], mask broadcastable to [B, H, T, T] (additive; null for none, the vision tower) -> [B, T, D]. */
    public NDArray forward(NDArray x, NDArray mask) {
        long b = x.getShape().get(0);
        long t = x.getShape().get(1);
        NDArray q = heads(qProj.forward(x), b, t);
        NDArray k = heads(kProj.forward(x), b, t);
        NDArray v = heads(vProj.forward(x), b, t);
        NDArray o = mask == null ? Ops.attention(q, k, v) : Ops.attention(q, k, v, mask); // [B, H, T, Dh]
        o = o.transpose(0, 2, 1, 3).reshape(b, t, embedDim); // [B, H, T, Dh] -> [B, T, H*Dh]
        return outProj.forward(o);
    }

    /** [B, T, H*Dh] -> [B, H, T, Dh]. */
    private NDArray heads(NDArray x, long b, long t) {
        return x.reshape(b, t, heads, headDim).transpose(0, 2, 1, 3);
    }
}
