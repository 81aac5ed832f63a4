package io.lcmlora.train.config;

import java.nio.file.Path;

/**
 * The teacher model. {@code path} is a diffusers pipeline folder ({@code unet/}, {@code vae/}, {@code text_encoder/},
 * ...) or a single-file SGM checkpoint ({@code .safetensors}); each component may be overridden by its own folder
 * (the reference recipe replaces the VAE with {@code madebyollin/sdxl-vae-fp16-fix}). Relative paths resolve
 * against the working directory.
 */
public record ModelConfig(
        @Nullable String path,
        @Nullable String variant,
        @Nullable String unet,
        @Nullable String vae,
        @Nullable @Key("text_encoder") String textEncoder,
        @Nullable @Key("text_encoder_2") String textEncoder2,
        @Nullable String tokenizer,
        @Nullable @Key("tokenizer_2") String tokenizer2,
        @Nullable String scheduler) {

    /** Every component of an SDXL pipeline folder, by its config key (= its sub-folder name). */
    public static final java.util.List<String> COMPONENTS =
            java.util.List.of("unet", "vae", "text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2", "scheduler");

    public ModelConfig {
        if (variant != null) {
            Check.notBlank("variant", variant);
        }
    }

    /** Reference recipe: no path (it must be given), the SDXL folder's own components. */
    public static ModelConfig defaults() {
        return new ModelConfig(null, null, null, null, null, null, null, null, null);
    }

    /** True when {@code path} names a single checkpoint file rather than a folder. */
    public boolean isSingleFile() {
        return path != null && path.endsWith(".safetensors");
    }

    /**
     * The folder of one pipeline component: its override, else {@code <path>/<component>}. A single-file checkpoint
     * has no sub-folders, so only overrides resolve then.
     */
    public Path component(String name) {
        String override = switch (name) {
            case "unet" -> unet;
            case "vae" -> vae;
            case "text_encoder" -> textEncoder;
            case "text_encoder_2" -> textEncoder2;
            case "tokenizer" -> tokenizer;
            case "tokenizer_2" -> tokenizer2;
            case "scheduler" -> scheduler;
            default -> throw new IllegalArgumentException("unknown model component '" + name + "'; expected one of " + COMPONENTS);
        };
        if (override != null) {
            return Path.of(override);
        }
        if (path == null) {
            throw new ConfigException("model.path", "is not set, and model." + name + " does not override it");
        }
        if (isSingleFile()) {
            throw new ConfigException("model." + name, "model.path is a single-file checkpoint, which has no '" + name
                    + "' folder; read the component from the file or set model." + name);
        }
        return Path.of(path, name);
    }
}
