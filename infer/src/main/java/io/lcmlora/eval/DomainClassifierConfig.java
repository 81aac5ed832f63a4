package io.lcmlora.eval;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.lcmlora.io.ConfigJson;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * Settings of a {@link DomainClassifier}: input resolution, channels per stage (each stage halves the size),
 * GroupNorm groups, and the label names of its heads: coarse and fine classes (e.g. emoji category and
 * subcategory) and, optionally, styles (e.g. the emoji vendors; empty: no style head, as in classifiers written
 * before it existed, whose {@code config.json} has no {@code styles} field). Stored as the classifier folder's
 * {@code config.json}.
 */
public record DomainClassifierConfig(int resolution, List<Integer> channels, int normGroups, List<String> classes,
        List<String> subclasses, List<String> styles) {
    public static final String TYPE = "domain-classifier";

    public DomainClassifierConfig {
        channels = List.copyOf(channels);
        classes = List.copyOf(classes);
        subclasses = List.copyOf(subclasses);
        styles = List.copyOf(styles);
        if (channels.isEmpty()) {
            throw new IllegalArgumentException("channels: at least one stage");
        }
        for (int c : channels) {
            if (c <= 0 || c % normGroups != 0) {
                throw new IllegalArgumentException("channels: " + c + " must be positive and divisible by norm_num_groups "
                        + normGroups);
            }
        }
        if (resolution < (1 << channels.size()) || resolution % (1 << channels.size()) != 0) {
            throw new IllegalArgumentException("resolution " + resolution + " must be a multiple of 2^" + channels.size()
                    + " (one halving per stage)");
        }
        if (classes.size() < 2 || subclasses.size() < 2) {
            throw new IllegalArgumentException("classes and subclasses need at least 2 labels each");
        }
        if (styles.size() == 1) {
            throw new IllegalArgumentException("styles: none (no style head) or at least 2, got " + styles);
        }
    }

    /** Without a style head. */
    public DomainClassifierConfig(int resolution, List<Integer> channels, int normGroups, List<String> classes,
            List<String> subclasses) {
        this(resolution, channels, normGroups, classes, subclasses, List.of());
    }

    /**
     * The demo preset: 32 px input, four stages of 16/32/64/128 channels (32 -> 2 px, 128-d features), 8 groups;
     * {@code styles} empty for no style head.
     */
    public static DomainClassifierConfig emoji(List<String> categories, List<String> subcategories, List<String> styles) {
        return new DomainClassifierConfig(32, List.of(16, 32, 64, 128), 8, categories, subcategories, styles);
    }

    /** Whether the classifier has a style head. */
    public boolean hasStyles() {
        return !styles.isEmpty();
    }

    /** Feature dimension: the last stage's channels. */
    public int featureDim() {
        return channels.get(channels.size() - 1);
    }

    public String toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("_class_name", "DomainClassifier");
        o.addProperty("type", TYPE);
        o.addProperty("resolution", resolution);
        o.add("channels", ints(channels));
        o.addProperty("norm_num_groups", normGroups);
        o.add("classes", strings(classes));
        o.add("subclasses", strings(subclasses));
        if (hasStyles()) {
            o.add("styles", strings(styles));
        }
        return new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(o) + "\n";
    }

    public static DomainClassifierConfig read(Path file) throws IOException {
        ConfigJson c = ConfigJson.read(file);
        String type = c.getString("type", "");
        if (!TYPE.equals(type)) {
            throw new IOException(file + ": field 'type' must be \"" + TYPE + "\", got \"" + type + "\"");
        }
        int resolution = c.getInt("resolution");
        List<Integer> channels = Arrays.stream(c.getInts("channels", 0)).boxed().toList();
        int groups = c.getInt("norm_num_groups");
        List<String> classes = List.of(c.getStrings("classes"));
        List<String> subclasses = List.of(c.getStrings("subclasses"));
        List<String> styles = c.has("styles") ? List.of(c.getStrings("styles")) : List.of();
        try {
            return new DomainClassifierConfig(resolution, channels, groups, classes, subclasses, styles);
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage());
        }
    }

    private static JsonArray ints(List<Integer> v) {
        JsonArray a = new JsonArray();
        v.forEach(a::add);
        return a;
    }

    private static JsonArray strings(List<String> v) {
        JsonArray a = new JsonArray();
        v.forEach(a::add);
        return a;
    }
}
