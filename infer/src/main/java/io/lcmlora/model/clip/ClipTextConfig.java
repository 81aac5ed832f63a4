package io.lcmlora.model.clip;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.lcmlora.io.ConfigJson;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * transformers {@code CLIPTextConfig}: the settings a CLIP text encoder is built from. Fields missing from a
 * config.json take transformers' (v4.36) {@code CLIPTextConfig.__init__} defaults.
 *
 * @param eosTokenId selects the pooling rule: 2 (the value in the published SDXL configs) means the legacy
 *     "argmax of the ids" rule, any other value the first position holding that id
 * @param architectures the config's {@code architectures} list (empty when absent), used to detect a projection
 */
public record ClipTextConfig(int vocabSize, int hiddenSize, int intermediateSize, int projectionDim,
        int numHiddenLayers, int numAttentionHeads, int maxPositionEmbeddings, HiddenAct hiddenAct,
        double layerNormEps, int eosTokenId, List<String> architectures) implements ClipEncoderSpec {

    /** transformers' ACT2FN entries a CLIP text config can name. */
    public enum HiddenAct {
        /** x * sigmoid(1.702 x) (OpenAI CLIP). */
        QUICK_GELU("quick_gelu"),
        /** exact erf GELU (OpenCLIP bigG). */
        GELU("gelu"),
        /** tanh-approximated GELU ({@code NewGELUActivation}). */
        GELU_NEW("gelu_new"),
        /** tanh-approximated GELU ({@code PytorchGELUTanh}). */
        GELU_PYTORCH_TANH("gelu_pytorch_tanh");

        private final String configName;

        HiddenAct(String configName) {
            this.configName = configName;
        }

        public String configName() {
            return configName;
        }

        static HiddenAct parse(String name, Path file) {
            for (HiddenAct a : values()) {
                if (a.configName.equals(name)) {
                    return a;
                }
            }
            throw new IllegalArgumentException(file + ": field 'hidden_act' is \"" + name + "\", expected one of "
                    + Arrays.stream(values()).map(HiddenAct::configName).toList());
        }
    }

    /** The value of {@code eos_token_id} that selects transformers' legacy argmax pooling. */
    public static final int LEGACY_EOS_TOKEN_ID = 2;

    public ClipTextConfig {
        if (vocabSize <= 0 || hiddenSize <= 0 || intermediateSize <= 0 || projectionDim <= 0 || numHiddenLayers <= 0
                || numAttentionHeads <= 0 || maxPositionEmbeddings <= 0) {
            throw new IllegalArgumentException("CLIP text config sizes must be positive: " + sizes(vocabSize, hiddenSize,
                    intermediateSize, projectionDim, numHiddenLayers, numAttentionHeads, maxPositionEmbeddings));
        }
        if (hiddenSize % numAttentionHeads != 0) {
            throw new IllegalArgumentException("hidden_size " + hiddenSize + " is not divisible by num_attention_heads "
                    + numAttentionHeads);
        }
        if (!(layerNormEps > 0)) {
            throw new IllegalArgumentException("layer_norm_eps must be positive, got " + layerNormEps);
        }
        if (hiddenAct == null) {
            throw new IllegalArgumentException("hidden_act is required");
        }
        architectures = architectures == null ? List.of() : List.copyOf(architectures);
    }

    private static String sizes(int... v) {
        return Arrays.toString(v);
    }

    public int headDim() {
        return hiddenSize / numAttentionHeads;
    }

    /** Whether {@code architectures} names {@code CLIPTextModelWithProjection}. */
    public boolean declaresProjection() {
        return architectures.contains("CLIPTextModelWithProjection");
    }

    /** SDXL base {@code text_encoder/config.json} (the openai/clip-vit-large-patch14 text tower). */
    public static ClipTextConfig sdxlTextEncoder() {
        return new ClipTextConfig(49408, 768, 3072, 768, 12, 12, 77, HiddenAct.QUICK_GELU, 1e-5, 2,
                List.of("CLIPTextModel"));
    }

    /** SDXL base {@code text_encoder_2/config.json} (the OpenCLIP ViT-bigG/14 text tower with projection). */
    public static ClipTextConfig sdxlTextEncoder2() {
        return new ClipTextConfig(49408, 1280, 5120, 1280, 32, 20, 77, HiddenAct.GELU, 1e-5, 2,
                List.of("CLIPTextModelWithProjection"));
    }

    /** The golden {@code text_encoders/text_encoder/config.json}. */
    public static ClipTextConfig tinyTextEncoder() {
        return new ClipTextConfig(1000, 32, 37, 32, 5, 4, 77, HiddenAct.QUICK_GELU, 1e-5, 2,
                List.of("CLIPTextModel"));
    }

    /** The golden {@code text_encoders/text_encoder_2/config.json}. */
    public static ClipTextConfig tinyTextEncoder2() {
        return new ClipTextConfig(1000, 32, 64, 32, 4, 2, 77, HiddenAct.GELU, 1e-5, 2,
                List.of("CLIPTextModelWithProjection"));
    }

    /**
     * This config as a transformers (4.36) text encoder {@code config.json} ({@code model_type} clip_text_model,
     * the architecture from {@link #architectures()}); {@link #of} of the result gives back an equal config.
     * {@code bos_token_id} / {@code pad_token_id} are not part of this record and are written as given.
     */
    public JsonObject toJson(int bosTokenId, int padTokenId) {
        JsonObject o = new JsonObject();
        JsonArray arch = new JsonArray();
        architectures.forEach(arch::add);
        o.add("architectures", arch);
        o.addProperty("attention_dropout", 0.0);
        o.addProperty("bos_token_id", bosTokenId);
        o.addProperty("eos_token_id", eosTokenId);
        o.addProperty("hidden_act", hiddenAct.configName());
        o.addProperty("hidden_size", hiddenSize);
        o.addProperty("initializer_factor", 1.0);
        o.addProperty("initializer_range", 0.02);
        o.addProperty("intermediate_size", intermediateSize);
        o.addProperty("layer_norm_eps", layerNormEps);
        o.addProperty("max_position_embeddings", maxPositionEmbeddings);
        o.addProperty("model_type", "clip_text_model");
        o.addProperty("num_attention_heads", numAttentionHeads);
        o.addProperty("num_hidden_layers", numHiddenLayers);
        o.addProperty("pad_token_id", padTokenId);
        o.addProperty("projection_dim", projectionDim);
        o.addProperty("torch_dtype", "float32");
        o.addProperty("transformers_version", "4.36.0");
        o.addProperty("vocab_size", vocabSize);
        return o;
    }

    public static ClipTextConfig read(Path configJson) throws IOException {
        return of(ConfigJson.read(configJson));
    }

    /** From a text encoder's config.json; a full {@code CLIPConfig} (model_type "clip") is rejected. */
    public static ClipTextConfig of(ConfigJson c) {
        String modelType = c.getString("model_type", "clip_text_model");
        if (!modelType.equals("clip_text_model")) {
            throw new IllegalArgumentException(c.file() + ": field 'model_type' is \"" + modelType
                    + "\", expected \"clip_text_model\" (a CLIP text encoder folder such as SDXL's text_encoder)");
        }
        try {
            return fromFields(c);
        } catch (IllegalArgumentException e) {
            throw e.getMessage().startsWith(String.valueOf(c.file())) ? e : new IllegalArgumentException(c.file() + ": " + e.getMessage(), e);
        }
    }

    private static ClipTextConfig fromFields(ConfigJson c) {
        return new ClipTextConfig(
                c.getInt("vocab_size", 49408),
                c.getInt("hidden_size", 512),
                c.getInt("intermediate_size", 2048),
                c.getInt("projection_dim", 512),
                c.getInt("num_hidden_layers", 12),
                c.getInt("num_attention_heads", 8),
                c.getInt("max_position_embeddings", 77),
                HiddenAct.parse(c.getString("hidden_act", "quick_gelu"), c.file()),
                c.getDouble("layer_norm_eps", 1e-5),
                c.getInt("eos_token_id", 49407),
                c.has("architectures") ? List.of(c.getStrings("architectures")) : List.of());
    }
}
