package io.lcmlora.model.unet;

import ai.djl.ndarray.NDArray;
import io.lcmlora.nn.AdaptableLayer;
import io.lcmlora.nn.Conv2d;
import io.lcmlora.nn.GroupNorm;
import io.lcmlora.nn.Linear;
import io.lcmlora.nn.Weights;
import java.util.ArrayList;
import java.util.List;

/**
 * diffusers {@code Transformer2DModel} for continuous input: GroupNorm (eps 1e-6), {@code proj_in}, a stack
 * of {@link BasicTransformerBlock}s over the H*W tokens, {@code proj_out}, plus the residual. With
 * {@code use_linear_projection} (SDXL) the projections are Linear on tokens, otherwise 1x1 convolutions.
 */
public final class Transformer2DModel {
    private final GroupNorm norm;
    private final AdaptableLayer projIn;
    private final List<BasicTransformerBlock> blocks = new ArrayList<>();
    private final AdaptableLayer projOut;
    private final boolean linear;
    private final long inner;

    public Transformer2DModel(Weights vb, long channels, int heads, int layers, long contextDim, int groups, boolean linear) {
        this.linear = linear;
        this.inner = channels;
        long headDim = channels / heads;
        norm = new GroupNorm(vb.pp("norm"), groups, channels, 1e-6);
        projIn = linear ? new Linear(vb.pp("proj_in"), channels, inner, true) : new Conv2d(vb.pp("proj_in"), channels, inner, 1, 1, 0);
        for (int i = 0; i < layers; i++) {
            blocks.add(new BasicTransformerBlock(vb.pp("transformer_blocks").pp(i), inner, heads, headDim, contextDim));
        }
        projOut = linear ? new Linear(vb.pp("proj_out"), inner, channels, true) : new Conv2d(vb.pp("proj_out"), inner, channels, 1, 1, 0);
    }

    /** x [B, C, H, W], context [B, S, D] -> [B, C, H, W]; the projections and each transformer block run through {@code r}. */
    public NDArray forward(NDArray x, NDArray context, BlockRunner r) {
        long b = x.getShape().get(0);
        long c = x.getShape().get(1);
        long h = x.getShape().get(2);
        long w = x.getShape().get(3);
        NDArray t = r.one(BlockKind.TRANSFORMER_IN, in -> projectIn(in.get(0), b, c, h, w), x);
        for (BasicTransformerBlock blk : blocks) {
            t = r.one(BlockKind.TRANSFORMER_BLOCK, in -> blk.forward(in.get(0), in.get(1), r.keyValueMemo()), t, context);
        }
        return r.one(BlockKind.TRANSFORMER_OUT, in -> projectOut(in.get(0), in.get(1), b, c, h, w), t, x);
    }

    /** GroupNorm and proj_in: [B, C, H, W] -> [B, H*W, inner]. */
    private NDArray projectIn(NDArray x, long b, long c, long h, long w) {
        NDArray t = norm.forward(x);
        if (linear) {
            return projIn.forward(t.transpose(0, 2, 3, 1).reshape(b, h * w, c)); // [B, C, H, W] -> [B, H*W, C]
        }
        return projIn.forward(t).transpose(0, 2, 3, 1).reshape(b, h * w, inner);
    }

    /**
     * proj_out and the residual: [B, H*W, inner] -> [B, C, H, W] + x. The projection comes back as a channels-last
     * strided view; the sum is taken as {@code x + t} so that it gets x's contiguous NCHW layout (an element-wise result
     * takes its first operand's layout). As {@code t + x} it stayed channels-last, and every later conv in the block
     * then copied its weight to channels-last on each call (diffusers makes the view contiguous here instead).
     */
    private NDArray projectOut(NDArray t, NDArray x, long b, long c, long h, long w) {
        if (linear) {
            t = projOut.forward(t).reshape(b, h, w, c).transpose(0, 3, 1, 2); // [B, H*W, C] -> [B, C, H, W]
        } else {
            t = projOut.forward(t.reshape(b, h, w, inner).transpose(0, 3, 1, 2));
        }
        return x.add(t); // x + t == t + x bit for bit; the NCHW layout of x
    }
}
