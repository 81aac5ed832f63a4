package io.lcmlora.model.unet;

import ai.djl.ndarray.NDArray;
import io.lcmlora.nn.Attention;
import io.lcmlora.nn.KeyValueMemo;
import io.lcmlora.nn.LayerNorm;
import io.lcmlora.nn.Weights;

/**
 * diffusers {@code BasicTransformerBlock} (norm_type "layer_norm"): pre-LN self-attention ({@code attn1}),
 * cross-attention on the text context ({@code attn2}) and a GEGLU feed-forward ({@code ff}), each residual.
 */
public final class BasicTransformerBlock {
    private static final double NORM_EPS = 1e-5;
    private final LayerNorm norm1;
    private final Attention attn1;
    private final LayerNorm norm2;
    private final Attention attn2;
    private final LayerNorm norm3;
    private final FeedForward ff;

    public BasicTransformerBlock(Weights vb, long dim, int heads, long headDim, long contextDim) {
        norm1 = new LayerNorm(vb.pp("norm1"), dim, NORM_EPS);
        attn1 = new Attention(vb.pp("attn1"), new Attention.Config(dim, dim, heads, headDim, false));
        norm2 = new LayerNorm(vb.pp("norm2"), dim, NORM_EPS);
        attn2 = new Attention(vb.pp("attn2"), new Attention.Config(dim, contextDim, heads, headDim, false));
        norm3 = new LayerNorm(vb.pp("norm3"), dim, NORM_EPS);
        ff = new FeedForward(vb.pp("ff"), dim, 4);
    }

    /** x [B, T, dim], context [B, S, contextDim] -> [B, T, dim]; attn2's keys and values from {@code memo} when not null. */
    public NDArray forward(NDArray x, NDArray context, KeyValueMemo memo) {
        x = x.add(attn1.forward(norm1.forward(x), null));
        x = x.add(attn2.forward(norm2.forward(x), context, memo));
        return x.add(ff.forward(norm3.forward(x)));
    }
}
