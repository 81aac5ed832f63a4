package io.lcmlora.model.clip;

import com.google.gson.JsonElement;
import io.lcmlora.io.ConfigJson;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * transformers {@code CLIPVisionConfig}: the settings a CLIP vision tower is built from. Fields missing from a
 * config.json take transformers' (v4.36) {@code CLIPVisionConfig.__init__} defaults. A full {@code CLIPModel}
 * config ({@code model_type} "clip") is read from its {@code vision_config} object.
 *
 * @param imageSize the input side in pixels (224 for the published towers); the position table has
 *     {@code (imageSize / patchSize)^2 + 1} rows
 * @param patchSize the patch embedding's kernel and stride
 */
public record ClipVisionConfig(int hiddenSize, int intermediateSize, int projectionDim, int numHiddenLayers,
        int numAttentionHeads, int numChannels, int imageSize, int patchSize, ClipTextConfig.HiddenAct hiddenAct,
        double layerNormEps) implements ClipEncoderSpec {

    public ClipVisionConfig {
        if (hiddenSize <= 0 || intermediateSize <= 0 || projectionDim <= 0 || numHiddenLayers <= 0
                || numAttentionHeads <= 0 || numChannels <= 0 || imageSize <= 0 || patchSize <= 0) {
            throw new IllegalArgumentException("CLIP vision config sizes must be positive: " + Arrays.toString(new int[] {
                hiddenSize, intermediateSize, projectionDim, numHiddenLayers, numAttentionHeads, numChannels, imageSize,
                patchSize}));
        }
        if (hiddenSize % numAttentionHeads != 0) {
            throw new IllegalArgumentException("hidden_size " + hiddenSize + " is not divisible by num_attention_heads "
                    + numAttentionHeads);
        }
        if (imageSize % patchSize != 0) {
            throw new IllegalArgumentException("image_size " + imageSize + " is not a multiple of patch_size " + patchSize);
        }
        if (!(layerNormEps > 0)) {
            throw new IllegalArgumentException("layer_norm_eps must be positive, got " + layerNormEps);
        }
        if (hiddenAct == null) {
            throw new IllegalArgumentException("hidden_act is required");
        }
    }

    /** Patches per image: {@code (image_size / patch_size)^2}. */
    public int numPatches() {
        int side = imageSize / patchSize;
        return side * side;
    }

    /** Tokens per image: the class token plus the patches. */
    public int numPositions() {
        return numPatches() + 1;
    }

    /** openai/clip-vit-large-patch14 (SD 1.x / SDXL {@code text_encoder}'s partner tower; projection 768). */
    public static ClipVisionConfig openaiVitL14() {
        return new ClipVisionConfig(1024, 4096, 768, 24, 16, 3, 224, 14, ClipTextConfig.HiddenAct.QUICK_GELU, 1e-5);
    }

    /** laion/CLIP-ViT-H-14-laion2B-s32B-b79K (IP-Adapter's {@code models/image_encoder}; projection 1024). */
    public static ClipVisionConfig openclipVitH14() {
        return new ClipVisionConfig(1280, 5120, 1024, 32, 16, 3, 224, 14, ClipTextConfig.HiddenAct.GELU, 1e-5);
    }

    /** laion/CLIP-ViT-g-14-laion2B-s12B-b42K (projection 1024). */
    public static ClipVisionConfig openclipVitG14() {
        return new ClipVisionConfig(1408, 6144, 1024, 40, 16, 3, 224, 14, ClipTextConfig.HiddenAct.GELU, 1e-5);
    }

    /**
     * laion/CLIP-ViT-bigG-14-laion2B-39B-b160k, the partner of SDXL's {@code text_encoder_2} (IP-Adapter's
     * {@code sdxl_models/image_encoder}; projection 1280).
     */
    public static ClipVisionConfig openclipVitBigG14() {
        return new ClipVisionConfig(1664, 8192, 1280, 48, 16, 3, 224, 14, ClipTextConfig.HiddenAct.GELU, 1e-5);
    }

    public static ClipVisionConfig read(Path configJson) throws IOException {
        return of(ConfigJson.read(configJson));
    }

    /** From a vision tower's config.json ({@code clip_vision_model}) or a full CLIPModel's ({@code clip}). */
    public static ClipVisionConfig of(ConfigJson c) {
        String modelType = c.getString("model_type", "clip_vision_model");
        ConfigJson v = switch (modelType) {
            case "clip_vision_model" -> c;
            case "clip" -> {
                JsonElement e = c.json().get("vision_config");
                if (e == null || !e.isJsonObject()) {
                    throw new IllegalArgumentException(c.file() + ": field 'vision_config' is missing (expected the "
                            + "vision tower's settings in a CLIPModel config)");
                }
                yield ConfigJson.of(c.file(), e.getAsJsonObject());
            }
            default -> throw new IllegalArgumentException(c.file() + ": field 'model_type' is \"" + modelType
                    + "\", expected \"clip_vision_model\" (a CLIPVisionModelWithProjection folder such as IP-Adapter's "
                    + "image_encoder) or \"clip\" (a full CLIPModel folder)");
        };
        try {
            return new ClipVisionConfig(
                    v.getInt("hidden_size", 768),
                    v.getInt("intermediate_size", 3072),
                    // CLIPModel sizes visual_projection by its top-level projection_dim, not vision_config's
                    (modelType.equals("clip") ? c : v).getInt("projection_dim", 512),
                    v.getInt("num_hidden_layers", 12),
                    v.getInt("num_attention_heads", 12),
                    v.getInt("num_channels", 3),
                    v.getInt("image_size", 224),
                    v.getInt("patch_size", 32),
                    ClipTextConfig.HiddenAct.parse(v.getString("hidden_act", "quick_gelu"), c.file()),
                    v.getDouble("layer_norm_eps", 1e-5));
        } catch (IllegalArgumentException e) {
            throw e.getMessage().startsWith(String.valueOf(c.file())) ? e
                    : new IllegalArgumentException(c.file() + ": " + e.getMessage(), e);
        }
    }
}
