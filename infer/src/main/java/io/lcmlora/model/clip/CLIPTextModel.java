package io.lcmlora.model.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.lcmlora.nn.AdaptableLayer;
import io.lcmlora.nn.Weights;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/** transformers {@code CLIPTextModel} (SDXL {@code text_encoder}): {@code text_model} without a projection. */
public final class CLIPTextModel implements ClipTextEncoder {
    private final CLIPTextTransformer textModel;
    private final Map<String, AdaptableLayer> layers;

    public CLIPTextModel(Weights vb, ClipTextConfig c) {
        textModel = new CLIPTextTransformer(vb.pp("text_model"), c);
        layers = vb.adaptableLayers();
    }

    /** Loads a folder that must hold a model without {@code text_projection}. */
    public static CLIPTextModel load(Path dir, NDManager manager, DataType dtype, String variant) throws IOException {
        return (CLIPTextModel) ClipTextEncoder.load(dir, manager, dtype, variant, Projection.NO);
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
        return false;
    }

    /** pooled_output is {@code pooler_output}; textEmbeds is null. */
    @Override
    public ClipTextOutput forward(NDArray inputIds) {
        return textModel.forward(inputIds);
    }
}
