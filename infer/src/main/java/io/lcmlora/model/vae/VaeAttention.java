package io.lcmlora.model.vae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import io.lcmlora.nn.Attention;
import io.lcmlora.nn.GroupNorm;
import io.lcmlora.nn.Weights;

/**
 * The VAE mid-block attention: diffusers {@code Attention(query_dim=C, heads=C / attention_head_dim,
 * dim_head=attention_head_dim, norm_num_groups, residual_connection=True, bias=True)} applied to a feature map
 * (AttnProcessor2_0 with a 4-D input). {@code group_norm} runs on [B, C, H, W], the pixels become tokens, plain
 * self-attention with biased {@code to_q/to_k/to_v}, {@code to_out.0}, back to a map, plus the input
 * (rescale_output_factor 1). SDXL: C = 512, one head of 512.
 */
public final class VaeAttention {
    private final GroupNorm groupNorm;
    private final Attention attention;

    public VaeAttention(Weights vb, long channels, long headDim, int groups, double eps) {
        if (channels % headDim != 0) {
            throw new IllegalArgumentException(vb.path() + ": " + channels + " channels not divisible by head dim " + headDim);
        }
        groupNorm = new GroupNorm(vb.pp("group_norm"), groups, channels, eps);
        attention = new Attention(vb, new Attention.Config(channels, channels, (int) (channels / headDim), headDim, true));
        vb.register(this);
    }

    /** [B, C, H, W] -> [B, C, H, W]. */
    public NDArray forward(NDArray x) {
        Shape s = x.getShape();
        long b = s.get(0);
        long c = s.get(1);
        long h = s.get(2);
        long w = s.get(3);
        NDArray tokens = groupNorm.forward(x).reshape(b, c, h * w).transpose(0, 2, 1); // [B, C, H, W] -> [B, H*W, C]
        NDArray out = attention.forward(tokens, null); // [B, H*W, C]
        out = out.transpose(0, 2, 1).reshape(b, c, h, w); // [B, H*W, C] -> [B, C, H, W]
        return out.add(x);
    }
}
