package io.lcmlora.train.demo;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.lcmlora.io.AtomicFiles;
import io.lcmlora.train.emoji.EmojiManifest;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The demo's prep stage: from the built manifests ({@code data/emoji/<style>/manifest-32.jsonl}) it writes the base
 * style's train split as the distillation manifest, and per style a held-out prompt file for the eval sweep, both styles
 * with the same prompts, chosen by caption ({@link #heldOutCaptions}). Image
 * paths are rewritten relative to the file written (what the jsonl data source and the prompt reader resolve against).
 */
public final class DemoPrep {
    static final String SPLIT_TRAIN = "train";
    static final String SPLIT_HELDOUT = "heldout";

    private DemoPrep() {}

    /** The lines of a split, in manifest order. */
    static List<JsonObject> split(Path manifest, String split) throws IOException {
        List<JsonObject> out = new ArrayList<>();
        for (JsonObject o : EmojiManifest.readManifest(manifest)) {
            if (!o.has("split") || !o.has("image") || !o.has("caption")) {
                throw new IOException(manifest + ": every line needs image, caption and split (rebuild with lcm data emoji)");
            }
            if (o.get("split").getAsString().equals(split)) {
                out.add(o);
            }
        }
        return out;
    }

    /** Writes the train split of {@code manifest} to {@code out} as {@code {"image", "caption"}} lines; returns the count. */
    public static int writeTrainManifest(Path manifest, Path out) throws IOException {
        List<JsonObject> rows = split(manifest, SPLIT_TRAIN);
        if (rows.isEmpty()) {
            throw new IOException(manifest + ": no train lines");
        }
        StringBuilder sb = new StringBuilder();
        for (JsonObject o : rows) {
            JsonObject line = new JsonObject();
            line.addProperty("image", relocate(manifest, o.get("image").getAsString(), out));
            line.addProperty("caption", o.get("caption").getAsString());
            sb.append(line).append('\n');
        }
        AtomicFiles.writeString(out, sb.toString());
        return rows.size();
    }

    /**
     * The held-out captions every manifest has, in the first manifest's order (catalogue order, so categories are
     * interleaved evenly), each once. A caption missing from one style's held-out split (an image that style lacks)
     * is left out of every style, so all styles are evaluated on the same prompts.
     */
    public static List<String> heldOutCaptions(List<Path> manifests) throws IOException {
        java.util.LinkedHashSet<String> common = null;
        for (Path m : manifests) {
            java.util.LinkedHashSet<String> captions = new java.util.LinkedHashSet<>();
            for (JsonObject o : split(m, SPLIT_HELDOUT)) {
                captions.add(o.get("caption").getAsString());
            }
            if (common == null) {
                common = captions;
            } else {
                common.retainAll(captions);
            }
        }
        if (common == null || common.isEmpty()) {
            throw new IOException(manifests + ": no held-out caption common to every style");
        }
        return List.copyOf(common);
    }

    /** {@code n} captions spread evenly over the list ({@link #pick}); {@code n == 0} means all of them. */
    public static List<String> pickCaptions(List<String> captions, int n) {
        if (n == 0) {
            return captions;
        }
        if (n > captions.size()) {
            throw new IllegalArgumentException(captions.size() + " held-out captions common to both styles, fewer than "
                    + "the " + n + " prompts asked for (--prompts 0 takes them all)");
        }
        return pick(captions.size(), n).stream().map(captions::get).toList();
    }

    /**
     * Writes one prompt per caption of {@code captions} to {@code out} (the eval sweep's prompt file), each with this
     * style's held-out images of that caption as references; the style's other held-out images (captions not picked)
     * are spread round-robin over the prompts as further references, so the reference set is the whole held-out
     * split; {@code own_references} counts the caption's own images, listed first (the colour column's reference).
     * Each prompt's {@code label} is its images' emoji category (the classifier's class the prompt-alignment column
     * scores). Returns the number of reference images.
     */
    public static int writePrompts(Path manifest, List<String> captions, Path out) throws IOException {
        List<JsonObject> rows = split(manifest, SPLIT_HELDOUT);
        java.util.Map<String, JsonArray> refs = new java.util.LinkedHashMap<>();
        for (String c : captions) {
            if (refs.put(c, new JsonArray()) != null) {
                throw new IllegalArgumentException("caption \"" + c + "\" is listed twice");
            }
        }
        List<String> rest = new ArrayList<>();
        Map<String, String> labels = new java.util.HashMap<>();
        for (JsonObject o : rows) {
            String image = relocate(manifest, o.get("image").getAsString(), out);
            JsonArray a = refs.get(o.get("caption").getAsString());
            if (a != null) {
                a.add(image);
                if (o.has("category")) {
                    labels.putIfAbsent(o.get("caption").getAsString(), o.get("category").getAsString());
                }
            } else {
                rest.add(image);
            }
        }
        for (Map.Entry<String, JsonArray> e : refs.entrySet()) {
            if (e.getValue().isEmpty()) {
                throw new IOException(manifest + ": no held-out image with the caption \"" + e.getKey() + "\"");
            }
        }
        Map<String, Integer> own = new java.util.HashMap<>();
        refs.forEach((c, a) -> own.put(c, a.size()));
        List<JsonArray> lists = new ArrayList<>(refs.values());
        for (int i = 0; i < rest.size(); i++) {
            lists.get(i % lists.size()).add(rest.get(i));
        }
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, JsonArray> e : refs.entrySet()) {
            JsonObject line = new JsonObject();
            line.addProperty("prompt", e.getKey());
            line.add("references", e.getValue());
            line.addProperty("own_references", own.get(e.getKey())); // this caption's own images come first
            if (labels.containsKey(e.getKey())) {
                line.addProperty("label", labels.get(e.getKey())); // the emoji category: the alignment column's class
            }
            sb.append(line).append('\n');
        }
        AtomicFiles.writeString(out, sb.toString());
        return rows.size();
    }

    /** {@code n} indices spread evenly over {@code [0, size)}: {@code floor(k * size / n)}. */
    static List<Integer> pick(int size, int n) {
        if (n < 1 || n > size) {
            throw new IllegalArgumentException("cannot pick " + n + " of " + size);
        }
        List<Integer> out = new ArrayList<>(n);
        for (int k = 0; k < n; k++) {
            out.add((int) ((long) k * size / n));
        }
        return out;
    }

    /** An image path of {@code manifest} as seen from the folder of {@code target}. */
    static String relocate(Path manifest, String image, Path target) {
        Path abs = manifest.toAbsolutePath().getParent().resolve(image).normalize();
        return target.toAbsolutePath().getParent().normalize().relativize(abs).toString().replace('\\', '/');
    }
}
