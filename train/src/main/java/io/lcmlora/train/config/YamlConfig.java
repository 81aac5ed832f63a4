package io.lcmlora.train.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
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
        return parse(type, defaults, yaml, overrides, "<config>");
    }

    private static <R extends Record> R parse(Class<R> type, R defaults, String yaml, List<String> overrides, String origin) {
        Object tree = loadYaml(yaml, origin);
        Map<String, Object> root = tree == null ? new LinkedHashMap<>() : asRoot(type, tree);
        for (String o : overrides) {
            applyOverride(type, root, o);
        }
        return ConfigBinder.bind(type, root, defaults);
    }

    /** Reads a config file (null = the defaults alone) and applies overrides; errors name the file. */
    public static <R extends Record> R load(Class<R> type, R defaults, Path file, List<String> overrides)
            throws IOException {
        String text = file == null ? "" : readText(file);
        try {
            return parse(type, defaults, text, overrides, file == null ? "<no config file>" : file.toString());
        } catch (ConfigException e) {
            throw new ConfigException(e.key(), e.problem() + blame(e.key(), overrides, file));
        } catch (YAMLException e) {
            throw new IllegalArgumentException((file == null ? "config" : file) + ": " + e.getMessage(), e);
        }
    }

    /** The largest config file read (a config is a few KB; this refuses a wrong path to a model or a device). */
    static final long MAX_CONFIG_BYTES = 1 << 20;

    /** The file as UTF-8 text; binary, UTF-16 and invalid UTF-8 files are refused naming the file and the fix. */
    static String readText(Path file) throws IOException {
        if (Files.isDirectory(file)) {
            throw new IllegalArgumentException("config file " + file + ": is a folder; expected a YAML file (e.g. "
                    + "configs/sdxl-lcm-lora.yaml)");
        }
        if (!Files.exists(file)) {
            throw new IllegalArgumentException("config file " + file + ": no such file; expected a YAML config file");
        }
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("config file " + file + ": not a regular file; expected a YAML config file");
        }
        long size = Files.size(file);
        if (size > MAX_CONFIG_BYTES) {
            throw new IllegalArgumentException(file + ": " + size + " bytes is too large for a YAML config (at most "
                    + MAX_CONFIG_BYTES + "); is this the right file?");
        }
        byte[] b = Files.readAllBytes(file);
        if (b.length >= 2 && ((b[0] == (byte) 0xFE && b[1] == (byte) 0xFF) || (b[0] == (byte) 0xFF && b[1] == (byte) 0xFE))) {
            throw new IllegalArgumentException(file + ": is UTF-16 text; expected UTF-8: save the config as UTF-8");
        }
        for (int i = 0; i < b.length; i++) {
            if (b[i] == 0) {
                throw new IllegalArgumentException(file + ": holds a NUL byte at offset " + i + ": a binary file (or "
                        + "UTF-16/32 text), not a UTF-8 YAML config");
            }
        }
        java.nio.charset.CharsetDecoder d = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT);
        java.nio.ByteBuffer in = java.nio.ByteBuffer.wrap(b);
        try {
            String text = d.decode(in).toString();
            return text.startsWith("\uFEFF") ? text.substring(1) : text;
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new IllegalArgumentException(file + ": is not valid UTF-8 text (bad byte near offset " + in.position()
                    + "); expected a UTF-8 YAML config: save it as UTF-8");
        }
    }

    /** Where the value of {@code key} came from: a {@code --set} override, else the config file. */
    static String blame(String key, List<String> overrides, Path file) {
        for (String o : overrides) {
            int eq = o.indexOf('=');
            String k = eq > 0 ? o.substring(0, eq).trim() : o.trim();
            if (k.equals(key) || k.startsWith(key + ".") || key.startsWith(k + ".")) {
                return " (from --set " + o + ")";
            }
        }
        return file == null ? "" : " (in " + file + ")";
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
            org.yaml.snakeyaml.error.Mark m = e.getProblemMark();
            String where = m == null ? origin : origin + ":" + (m.getLine() + 1) + ":" + (m.getColumn() + 1);
            String context = e.getContext() == null ? "" : " (" + e.getContext().trim() + ")";
            throw new IllegalArgumentException(where + ": invalid YAML: " + String.valueOf(e.getProblem()).trim() + context
                    + (m == null ? "" : "\n" + m.get_snippet()), e);
        } catch (YAMLException e) {
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
