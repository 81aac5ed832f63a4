package io.lcmlora.train.demo;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.lcmlora.io.AtomicFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The demo's prep stage: from the built manifests ({@code data/emoji/<style>/manifest-32.jsonl}) it writes the base
 * style's train split as the distillation manifest, and per style a held-out prompt file for the eval sweep. Image
 * paths are rewritten relative to the file written (what the jsonl data source and the prompt reader resolve against).
 */
public final class DemoPrep {
    static final String SPLIT_TRAIN = "train";
    static final String SPLIT_HELDOUT = "heldout";

    private DemoPrep() {}

    /** The lines of a split, in manifest order. */
    static List<JsonObject> split(Path manifest, String split) throws IOException {
        List<JsonObject> out = new ArrayList<>();
        for (JsonObject o : EmojiDataset.readManifest(manifest)) {
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
     * Writes {@code prompts} held-out prompts of {@code manifest} to {@code out} (the eval sweep's prompt file): held-out
     * lines picked evenly over the split (it is in catalogue order, so every category is represented), each with its
     * own image as reference; the held-out images not picked are spread round-robin over the prompts as further
     * references, so the reference set is the whole held-out split. Returns the number of reference images.
     */
    public static int writePrompts(Path manifest, int prompts, Path out) throws IOException {
        List<JsonObject> rows = split(manifest, SPLIT_HELDOUT);
        if (rows.size() < prompts) {
            throw new IOException(manifest + ": " + rows.size() + " held-out lines, fewer than the " + prompts
                    + " prompts asked for");
        }
        List<Integer> picked = pick(rows.size(), prompts);
        List<JsonArray> refs = new ArrayList<>();
        for (int i : picked) {
            JsonArray a = new JsonArray();
            a.add(relocate(manifest, rows.get(i).get("image").getAsString(), out));
            refs.add(a);
        }
        int next = 0;
        for (int i = 0; i < rows.size(); i++) {
            if (!picked.contains(i)) {
                refs.get(next++ % prompts).add(relocate(manifest, rows.get(i).get("image").getAsString(), out));
            }
        }
        StringBuilder sb = new StringBuilder();
        for (int k = 0; k < prompts; k++) {
            JsonObject line = new JsonObject();
            line.addProperty("prompt", rows.get(picked.get(k)).get("caption").getAsString());
            line.add("references", refs.get(k));
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
