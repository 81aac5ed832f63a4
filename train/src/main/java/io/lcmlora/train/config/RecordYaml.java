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
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.representer.Representer;

/**
 * The strict YAML binding of {@link TrainConfig} for any other config record (e.g. the demo's pretraining
 * configs): snake_case keys, missing keys take the defaults' values, unknown keys, wrong types and values out of
 * range are {@link ConfigException}s naming the dotted key (and the file).
 */
public final class RecordYaml {
    private RecordYaml() {}

    /**
     * Binds YAML text onto {@code type} (an empty document gives {@code defaults}) with {@code key=value} overrides
     * (dotted keys, values parsed as YAML) applied first.
     */
    @SuppressWarnings("unchecked")
    public static <R extends Record> R parse(String yaml, Class<R> type, R defaults, List<String> overrides) {
        Object tree = TrainConfig.loadYaml(yaml, "<config>");
        if (tree != null && !(tree instanceof Map)) {
            throw new ConfigException("<root>", "expected a mapping of keys " + ConfigBinder.keysOf(type) + ", got "
                    + ConfigBinder.describe(tree));
        }
        Map<String, Object> root = tree == null ? new LinkedHashMap<>() : new LinkedHashMap<>((Map<String, Object>) tree);
        for (String o : overrides) {
            applyOverride(type, root, o);
        }
        return ConfigBinder.bind(type, root, defaults);
    }

    /** Reads and binds a config file with overrides; errors name the file. */
    public static <R extends Record> R load(Path file, Class<R> type, R defaults, List<String> overrides) throws IOException {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(file + " (config file not found)");
        }
        try {
            return parse(text, type, defaults, overrides);
        } catch (ConfigException e) {
            throw new ConfigException(e.key(), e.problem() + " (in " + file + ")");
        } catch (YAMLException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    /** The record as block YAML; {@link #parse} of it gives back an equal record. */
    public static String toYaml(Record r) {
        DumperOptions opts = new DumperOptions();
        opts.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
        opts.setIndent(2);
        opts.setIndicatorIndent(0);
        opts.setWidth(120);
        opts.setSplitLines(false);
        return new Yaml(new SafeConstructor(new LoaderOptions()), new Representer(opts), opts).dump(ConfigBinder.toTree(r));
    }

    /**
     * {@code a.b.c=value}: value parsed as YAML (so {@code 1e-4}, {@code true}, {@code [a, b]}, {@code null} work).
     * Unknown keys are left for the binder, which names them and suggests the closest valid key.
     */
    static void applyOverride(Class<? extends Record> type, Map<String, Object> root, String override) {
        int eq = override.indexOf('=');
        if (eq <= 0) {
            throw new IllegalArgumentException("--set expects key=value (e.g. lora.rank=32), got '" + override + "'");
        }
        String key = override.substring(0, eq).trim();
        String text = override.substring(eq + 1);
        Object value = text.isBlank() ? null : TrainConfig.loadYaml(text, "--set " + key);
        String[] parts = key.split("\\.", -1);
        List<String> known = ConfigBinder.allKeys(type, "");
        String prefix = "";
        for (int i = 0; i < parts.length - 1; i++) {
            prefix = ConfigBinder.join(prefix, parts[i]);
            if (known.contains(prefix) && ConfigBinder.sectionType(type, prefix) == null) {
                throw new ConfigException(prefix, "is a value, not a section; cannot set " + key);
            }
        }
        Class<?> section = ConfigBinder.sectionType(type, key);
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
