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
 * YAML files bound strictly onto a config record type ({@link TrainConfig}, the eval sweep's {@link EvalConfig}): safe
 * loading (no tags, no duplicate keys), {@code key=value} overrides applied to the parsed tree, then
 * {@link ConfigBinder}, whose errors name the dotted key and suggest the closest valid one.
 */
public final class YamlConfig {
    private YamlConfig() {}

    /** Binds YAML text with {@code key=value} overrides applied on top; missing keys take {@code defaults}' values. */
    public static <R extends Record> R parse(Class<R> type, R defaults, String yaml, List<String> overrides) {
        Object tree = loadYaml(yaml, "<config>");
        Map<String, Object> root = tree == null ? new LinkedHashMap<>() : asRoot(type, tree);
        for (String o : overrides) {
            applyOverride(type, root, o);
        }
        return ConfigBinder.bind(type, root, defaults);
    }

    /** Reads a config file (null = the defaults alone) and applies overrides; errors name the file. */
    public static <R extends Record> R load(Class<R> type, R defaults, Path file, List<String> overrides)
            throws IOException {
        if (file == null) {
            return parse(type, defaults, "", overrides);
        }
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(file + " (config file not found)");
        }
        try {
            return parse(type, defaults, text, overrides);
        } catch (ConfigException e) {
            throw new ConfigException(e.key(), e.problem() + " (in " + file + ")");
        } catch (YAMLException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    /** A config record as block YAML; {@link #parse} of it gives back an equal record. */
    public static String toYaml(Record config) {
        DumperOptions opts = new DumperOptions();
        opts.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
        opts.setIndent(2);
        opts.setIndicatorIndent(0);
        opts.setWidth(120);
        opts.setSplitLines(false);
        Yaml yaml = new Yaml(new SafeConstructor(new LoaderOptions()), new Representer(opts), opts);
        return yaml.dump(ConfigBinder.toTree(config));
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
    private static Map<String, Object> asRoot(Class<?> type, Object tree) {
        if (!(tree instanceof Map)) {
            throw new ConfigException("<root>", "expected a mapping of sections " + ConfigBinder.keysOf(type)
                    + ", got " + ConfigBinder.describe(tree));
        }
        return new LinkedHashMap<>((Map<String, Object>) tree);
    }

    /**
     * {@code a.b.c=value}: value parsed as YAML (so {@code 1e-4}, {@code true}, {@code [a, b]}, {@code null} work).
     * Unknown keys are left for the binder, which names them and suggests the closest valid key.
     */
    static void applyOverride(Class<?> type, Map<String, Object> root, String override) {
        int eq = override.indexOf('=');
        if (eq <= 0) {
            throw new IllegalArgumentException("--set expects key=value (e.g. lora.rank=32), got '" + override + "'");
        }
        String key = override.substring(0, eq).trim();
        String text = override.substring(eq + 1);
        Object value = text.isBlank() ? null : loadYaml(text, "--set " + key);
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
