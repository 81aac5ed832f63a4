package io.lcmlora.model.clip;

import ai.djl.ndarray.NDArray;
import io.lcmlora.nn.LayerNorm;
import io.lcmlora.nn.Weights;

/**
 * transformers {@code CLIPEncoderLayer}, pre-LN: {@code h = x + self_attn(layer_norm1(x), mask);
 * out = h + mlp(layer_norm2(h))}.
 */
public final class CLIPEncoderLayer {
    private final LayerNorm layerNorm1;
    private final CLIPAttention selfAttn;
    private final LayerNorm layerNorm2;
    private final CLIPMLP mlp;

    public CLIPEncoderLayer(Weights vb, ClipEncoderSpec c) {
        layerNorm1 = new LayerNorm(vb.pp("layer_norm1"), c.hiddenSize(), c.layerNormEps());
        selfAttn = new CLIPAttention(vb.pp("self_attn"), c);
        layerNorm2 = new LayerNorm(vb.pp("layer_norm2"), c.hiddenSize(), c.layerNormEps());
        mlp = new CLIPMLP(vb.pp("mlp"), c);
    }

    /** x [B, T, D], additive mask [1, 1, T, T] -> [B, T, D]. */
    public NDArray forward(NDArray x, NDArray mask) {
        NDArray h = x.add(selfAttn.forward(layerNorm1.forward(x), mask));
        return h.add(mlp.forward(layerNorm2.forward(h)));
    }
}
