package io.lcmlora.model.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.google.gson.JsonElement;
import io.lcmlora.io.ConfigJson;
import io.lcmlora.io.ModelWeights;
import io.lcmlora.nn.Weights;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The text half of a transformers {@code CLIPModel} folder (model_type {@code clip}: {@code text_model},
 * {@code vision_model}, {@code text_projection}, {@code visual_projection}, {@code logit_scale} in one file), for
 * CLIP score; the vision half is {@link CLIPVisionModelWithProjection#load}. A separate text encoder folder
 * (SDXL's {@code text_encoder_2}) goes through {@link ClipTextEncoder#load} unchanged.
 */
public final class CLIPModel {
    private CLIPModel() {}

    /** Whether a CLIPModel key belongs to the text half (or is the shared {@code logit_scale}). */
    static boolean isTextKey(String key) {
        return key.startsWith("text_model.") || key.equals("text_projection.weight") || key.equals("logit_scale");
    }

    /**
     * The text tower with its projection from {@code dir}: a full CLIPModel folder (its {@code text_config}, the
     * top-level {@code projection_dim}) or a text encoder folder with {@code text_projection}.
     */
    public static CLIPTextModelWithProjection loadTextTower(Path dir, NDManager manager, DataType dtype, String variant)
            throws IOException {
        ConfigJson json = ConfigJson.read(dir.resolve("config.json"));
        if (!"clip".equals(json.getString("model_type", "clip_text_model"))) {
            return CLIPTextModelWithProjection.load(dir, manager, dtype, variant);
        }
        JsonElement text = json.json().get("text_config");
        if (text == null || !text.isJsonObject()) {
            throw new IllegalArgumentException(json.file() + ": field 'text_config' is missing (expected the text "
                    + "tower's settings in a CLIPModel config)");
        }
        ClipTextConfig t = ClipTextConfig.of(ConfigJson.of(json.file(), text.getAsJsonObject()));
        ClipTextConfig config = new ClipTextConfig(t.vocabSize(), t.hiddenSize(), t.intermediateSize(),
                json.getInt("projection_dim", 512), t.numHiddenLayers(), t.numAttentionHeads(),
                t.maxPositionEmbeddings(), t.hiddenAct(), t.layerNormEps(), t.eosTokenId(),
                List.of("CLIPTextModelWithProjection"));
        List<Path> files = ModelWeights.files(dir, variant);
        NDManager weights = manager.newSubManager();
        try {
            Map<String, NDArray> tensors = ModelWeights.load(files, weights, dtype);
            tensors.entrySet().removeIf(e -> {
                boolean vision = !isTextKey(e.getKey()) || e.getKey().equals("logit_scale");
                if (vision) {
                    e.getValue().close();
                }
                return vision;
            });
            Weights vb = Weights.of(weights, tensors, ModelWeights.describe(files));
            CLIPTextModelWithProjection model = new CLIPTextModelWithProjection(vb, config);
            vb.checkAllUsed(Set.of("text_model.embeddings.position_ids"));
            return model;
        } catch (RuntimeException | IOException e) {
            weights.close();
            throw e;
        }
    }
}
