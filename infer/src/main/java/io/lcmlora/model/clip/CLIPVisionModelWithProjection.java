package io.lcmlora.model.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.lcmlora.io.ConfigJson;
import io.lcmlora.io.ModelWeights;
import io.lcmlora.nn.Linear;
import io.lcmlora.nn.Weights;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * transformers {@code CLIPVisionModelWithProjection}: {@code vision_model} plus {@code visual_projection} (no bias)
 * applied to the pooled output, giving {@code image_embeds}. Loads a vision tower folder (IP-Adapter's
 * {@code image_encoder}, model_type {@code clip_vision_model}) or the vision half of a full {@code CLIPModel} folder
 * (openai/clip-vit-large-patch14, laion/CLIP-ViT-bigG-14-laion2B-39B-b160k; model_type {@code clip}).
 */
public final class CLIPVisionModelWithProjection implements AutoCloseable {
    /** Buffers older transformers versions saved and that the model does not read. */
    static final Set<String> IGNORED_KEYS = Set.of("vision_model.embeddings.position_ids");

    private final CLIPVisionTransformer visionModel;
    private final Linear visualProjection;
    private final NDManager owned;

    public CLIPVisionModelWithProjection(Weights vb, ClipVisionConfig c) {
        this(vb, c, null);
    }

    private CLIPVisionModelWithProjection(Weights vb, ClipVisionConfig c, NDManager owned) {
        visionModel = new CLIPVisionTransformer(vb.pp("vision_model"), c);
        visualProjection = new Linear(vb.pp("visual_projection"), c.hiddenSize(), c.projectionDim(), false);
        this.owned = owned;
    }

    public ClipVisionConfig config() {
        return visionModel.config();
    }

    /** pixel_values [B, C, S, S] (see {@code io.lcmlora.eval.ClipImageProcessor}) -> outputs with image_embeds. */
    public ClipVisionOutput forward(NDArray pixelValues) {
        ClipVisionOutput out = visionModel.forward(pixelValues);
        return new ClipVisionOutput(out.lastHiddenState(), out.pooledOutput(), out.hiddenStates(),
                visualProjection.forward(out.pooledOutput())); // [B, D] -> [B, P]
    }

    /**
     * Loads a folder (config.json + model.safetensors, its {@code variant} or shards) with floating weights as
     * {@code dtype}. Every vision tensor must be used; of a full CLIPModel the text half ({@code text_model.*},
     * {@code text_projection.weight}) and {@code logit_scale} are skipped.
     */
    public static CLIPVisionModelWithProjection load(Path dir, NDManager manager, DataType dtype, String variant)
            throws IOException {
        ConfigJson json = ConfigJson.read(dir.resolve("config.json"));
        ClipVisionConfig config = ClipVisionConfig.of(json);
        boolean full = "clip".equals(json.getString("model_type", "clip_vision_model"));
        List<Path> files = ModelWeights.files(dir, variant);
        NDManager weights = manager.newSubManager();
        try {
            Map<String, NDArray> tensors = ModelWeights.load(files, weights, dtype);
            if (full) {
                tensors.entrySet().removeIf(e -> {
                    boolean text = CLIPModel.isTextKey(e.getKey());
                    if (text) {
                        e.getValue().close();
                    }
                    return text;
                });
            }
            Weights vb = Weights.of(weights, tensors, ModelWeights.describe(files));
            CLIPVisionModelWithProjection model = new CLIPVisionModelWithProjection(vb, config, weights);
            vb.checkAllUsed(IGNORED_KEYS);
            return model;
        } catch (RuntimeException | IOException e) {
            weights.close();
            throw e;
        }
    }

    /** Frees the weights of a model made by {@link #load}; a model built on given weights owns nothing. */
    @Override
    public void close() {
        if (owned != null) {
            owned.close();
        }
    }
}
