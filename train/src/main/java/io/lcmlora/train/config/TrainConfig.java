package io.lcmlora.train.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.representer.Representer;

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
        Object tree = loadYaml(yaml, "<config>");
        Map<String, Object> root = tree == null ? new LinkedHashMap<>() : asRoot(tree);
        for (String o : overrides) {
            applyOverride(root, o);
        }
        return ConfigBinder.bind(TrainConfig.class, root, defaults());
    }

    /** Reads a config file (null = the defaults alone) and applies overrides; errors name the file. */
    public static TrainConfig load(Path file, List<String> overrides) throws IOException {
        if (file == null) {
            return parse("", overrides);
        }
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(file + " (config file not found)");
        }
        try {
            return parse(text, overrides);
        } catch (ConfigException e) {
            throw new ConfigException(e.key(), e.problem() + " (in " + file + ")");
        } catch (YAMLException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    /** The resolved config as YAML; {@link #parse(String)} of it gives back an equal record. */
    public String toYaml() {
        DumperOptions opts = new DumperOptions();
        opts.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
        opts.setIndent(2);
        opts.setIndicatorIndent(0);
        opts.setWidth(120);
        opts.setSplitLines(false);
        Yaml yaml = new Yaml(new SafeConstructor(new LoaderOptions()), new Representer(opts), opts);
        return yaml.dump(ConfigBinder.toTree(this));
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

    static Object loadYaml(String text, String origin) {
        LoaderOptions lo = new LoaderOptions();
        lo.setAllowDuplicateKeys(false);
        lo.setMaxAliasesForCollections(10);
        lo.setAllowRecursiveKeys(false);
        try {
            return new Yaml(new SafeConstructor(lo)).load(text);
        } catch (MarkedYAMLException e) {
            throw new IllegalArgumentException(origin + ": invalid YAML: " + e.getMessage(), e);
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> asRoot(Object tree) {
        if (!(tree instanceof Map)) {
            throw new ConfigException("<root>", "expected a mapping of sections " + ConfigBinder.keysOf(TrainConfig.class)
                    + ", got " + ConfigBinder.describe(tree));
        }
        return new LinkedHashMap<>((Map<String, Object>) tree);
    }

    /**
     * {@code a.b.c=value}: value parsed as YAML (so {@code 1e-4}, {@code true}, {@code [a, b]}, {@code null} work).
     * Unknown keys are left for the binder, which names them and suggests the closest valid key.
     */
    static void applyOverride(Map<String, Object> root, String override) {
        int eq = override.indexOf('=');
        if (eq <= 0) {
            throw new IllegalArgumentException("--set expects key=value (e.g. lora.rank=32), got '" + override + "'");
        }
        String key = override.substring(0, eq).trim();
        String text = override.substring(eq + 1);
        Object value = text.isBlank() ? null : loadYaml(text, "--set " + key);
        String[] parts = key.split("\\.", -1);
        List<String> known = keys();
        String prefix = "";
        for (int i = 0; i < parts.length - 1; i++) {
            prefix = ConfigBinder.join(prefix, parts[i]);
            if (known.contains(prefix) && ConfigBinder.sectionType(TrainConfig.class, prefix) == null) {
                throw new ConfigException(prefix, "is a value, not a section; cannot set " + key);
            }
        }
        Class<?> section = ConfigBinder.sectionType(TrainConfig.class, key);
        if (section != null && !(value instanceof Map)) {
            throw new ConfigException(key, "is a section; set one of its keys, e.g. " + key + "."
                    + ConfigBinder.keysOf(section).get(0) + "=...");
        }
        putPath(root, parts, value);
    }

    @SuppressWarnings("unchecked")
    private static void putPath(Map<String, Object> root, String[] parts, Object value) {
        Map<String, Object> node = root;
        for (int i = 0; i < parts.length - 1; i++) {
            Object child = node.get(parts[i]);
            Map<String, Object> next = child instanceof Map ? new LinkedHashMap<>((Map<String, Object>) child)
                    : new LinkedHashMap<>();
            node.put(parts[i], next);
            node = next;
        }
        node.put(parts[parts.length - 1], value);
    }
}
