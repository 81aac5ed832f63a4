package io.lcmlora.model.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.lcmlora.nn.Linear;
import io.lcmlora.nn.AdaptableLayer;
import io.lcmlora.nn.Weights;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * transformers {@code CLIPTextModelWithProjection} (SDXL {@code text_encoder_2}): {@code text_model} plus
 * {@code text_projection} (no bias) applied to the pooled output, giving {@code text_embeds}.
 */
public final class CLIPTextModelWithProjection implements ClipTextEncoder {
    private final CLIPTextTransformer textModel;
    private final Map<String, AdaptableLayer> layers;
    private final Linear textProjection;

    public CLIPTextModelWithProjection(Weights vb, ClipTextConfig c) {
        textModel = new CLIPTextTransformer(vb.pp("text_model"), c);
        textProjection = new Linear(vb.pp("text_projection"), c.hiddenSize(), c.projectionDim(), false);
        layers = vb.adaptableLayers();
    }

    /** Loads a folder that must hold a model with {@code text_projection}. */
    public static CLIPTextModelWithProjection load(Path dir, NDManager manager, DataType dtype, String variant)
            throws IOException {
        return (CLIPTextModelWithProjection) ClipTextEncoder.load(dir, manager, dtype, variant, Projection.YES);
    }

    @Override
    public ClipTextConfig config() {
        return textModel.config();
    }

    @Override
    public Map<String, AdaptableLayer> layers() {
        return layers;
    }

    @Override
    public boolean hasProjection() {
        return true;
    }

    /** Adds text_embeds [B, projection_dim] to the transformer's outputs. */
    @Override
    public ClipTextOutput forward(NDArray inputIds) {
        ClipTextOutput out = textModel.forward(inputIds);
        return out.withTextEmbeds(textProjection.forward(out.pooledOutput())); // [B, D] -> [B, P]
    }
}
