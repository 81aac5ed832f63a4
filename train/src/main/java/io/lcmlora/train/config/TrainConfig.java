package io.lcmlora.train.config;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The whole distillation run, bound strictly from YAML. A missing key takes its default (the record defaults are the
 * reference LCM-LoRA SDXL recipe, see {@code configs/sdxl-lcm-lora.yaml}); an unknown key, a wrong type or a value out
 * of range is a {@link ConfigException} naming the dotted key. {@code --set key=value} overrides are YAML scalars
 * applied to the parsed tree before binding.
 */
public record TrainConfig(
        ModelConfig model,
        LoraConfig lora,
        DistillConfig distill,
        OptimConfig optim,
        DataConfig data,
        CacheConfig cache,
        PrecisionConfig precision,
        LoggingConfig logging,
        CheckpointConfig checkpointing,
        ValidationConfig validation,
        long seed,
        String outputDir) {

    /** The seed of the README command ({@code --seed 453645634}). */
    public static final long REFERENCE_SEED = 453645634L;

    public TrainConfig {
        if (model == null || lora == null || distill == null || optim == null || data == null || cache == null
                || precision == null || logging == null || checkpointing == null || validation == null) {
            throw new IllegalArgumentException("every config section must be present");
        }
        Check.range("seed", seed, 0, Long.MAX_VALUE);
        Check.notBlank("output_dir", outputDir);
    }

    public static TrainConfig defaults() {
        return new TrainConfig(ModelConfig.defaults(), LoraConfig.defaults(), DistillConfig.defaults(),
                OptimConfig.defaults(), DataConfig.defaults(), CacheConfig.defaults(), PrecisionConfig.defaults(),
                LoggingConfig.defaults(), CheckpointConfig.defaults(), ValidationConfig.defaults(), REFERENCE_SEED,
                "runs/lcm-lora-sdxl");
    }

    /** Binds YAML text (an empty document gives the defaults). */
    public static TrainConfig parse(String yaml) {
        return parse(yaml, List.of());
    }

    /** Binds YAML text with {@code key=value} overrides applied on top. */
    public static TrainConfig parse(String yaml, List<String> overrides) {
        return YamlConfig.parse(TrainConfig.class, defaults(), yaml, overrides);
    }

    /** Reads a config file (null = the defaults alone) and applies overrides; errors name the file. */
    public static TrainConfig load(Path file, List<String> overrides) throws IOException {
        return YamlConfig.load(TrainConfig.class, defaults(), file, overrides);
    }

    /** The resolved config as YAML; {@link #parse(String)} of it gives back an equal record. */
    public String toYaml() {
        return YamlConfig.toYaml(this);
    }

    /** Fails with the first setting a training run needs but the config leaves unset. */
    public TrainConfig requireRunnable() {
        if (model.path() == null && (model.unet() == null || model.vae() == null || model.textEncoder() == null
                || model.textEncoder2() == null)) {
            throw new ConfigException("model.path", "must name a diffusers SDXL folder or a .safetensors checkpoint "
                    + "(or set model.unet, model.vae, model.text_encoder and model.text_encoder_2)");
        }
        if (data.paths().isEmpty()) {
            throw new ConfigException("data.paths", "must list the " + data.source().name().toLowerCase()
                    + " input(s) to train on");
        }
        return this;
    }

    /** Every dotted key of the schema (sections and leaves), in declaration order. */
    public static List<String> keys() {
        return ConfigBinder.allKeys(TrainConfig.class, "");
    }
}
