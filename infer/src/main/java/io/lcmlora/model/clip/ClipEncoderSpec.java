package io.lcmlora.model.clip;

/**
 * The settings a CLIP transformer encoder ({@link CLIPEncoder} and its layers) is built from, shared by the text
 * ({@link ClipTextConfig}) and vision ({@link ClipVisionConfig}) towers.
 */
public interface ClipEncoderSpec {
    int hiddenSize();

    int intermediateSize();

    int numHiddenLayers();

    int numAttentionHeads();

    ClipTextConfig.HiddenAct hiddenAct();

    double layerNormEps();

    default int headDim() {
        return hiddenSize() / numAttentionHeads();
    }
}
