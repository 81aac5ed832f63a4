package io.lcmlora.train.data;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A JSON-lines manifest, one example per line:
 * {@code {"image": "imgs/1.jpg", "caption": "a cat", "original_width": 3000, "original_height": 2000}}.
 * {@code file_name} (the diffusers imagefolder name) is accepted for {@code image}, {@code text} for {@code caption},
 * {@code width}/{@code height} for the original size. Relative image paths resolve against the manifest's folder.
 * Blank lines are ignored; malformed lines are skipped and counted (as {@code manifest:line}).
 */
public final class JsonlSource implements ImageCaptionSource {
    private record Entry(String id, Path image, String caption, int width, int height) {}

    private final List<Entry> entries = new ArrayList<>();
    private final SkipCounter skips;

    public JsonlSource(Path manifest, SkipCounter skips) throws IOException {
        this.skips = skips;
        Path base = manifest.toAbsolutePath().getParent();
        try (BufferedReader r = Files.newBufferedReader(manifest, StandardCharsets.UTF_8)) {
            int lineNo = 0;
            for (String line; (line = r.readLine()) != null; ) {
                lineNo++;
                if (line.isBlank()) {
                    continue;
                }
                String where = manifest.getFileName() + ":" + lineNo;
                try {
                    JsonElement el = JsonParser.parseString(line);
                    if (!el.isJsonObject()) {
                        throw new IllegalArgumentException("not a JSON object");
                    }
                    JsonObject o = el.getAsJsonObject();
                    String image = string(o, "image", "file_name");
                    String caption = string(o, "caption", "text");
                    if (image == null || caption == null) {
                        skips.skip("bad manifest line", where + " (needs image and caption)");
                        continue;
                    }
                    int w = size(o, "original_width", "width");
                    int h = size(o, "original_height", "height");
                    entries.add(new Entry(where + " " + image, base.resolve(image), caption.strip(), w, h));
                } catch (RuntimeException e) {
                    skips.skip("bad manifest line", where);
                }
            }
        }
    }

    private static String string(JsonObject o, String key, String alt) {
        JsonElement e = o.has(key) ? o.get(key) : o.get(alt);
        return e != null && e.isJsonPrimitive() && e.getAsJsonPrimitive().isString() ? e.getAsString() : null;
    }

    /** A positive integer size, or 0 when absent/invalid. */
    static int size(JsonObject o, String key, String alt) {
        JsonElement e = o.has(key) ? o.get(key) : o.get(alt);
        if (e == null || !e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber()) {
            return 0;
        }
        double v = e.getAsDouble();
        return v >= 1 && v <= 1 << 20 ? (int) v : 0;
    }

    @Override
    public int size() {
        return entries.size();
    }

    @Override
    public String id(int index) {
        return entries.get(index).id;
    }

    @Override
    public RawSample read(int index) throws IOException {
        Entry e = entries.get(index);
        return new RawSample(e.id, Files.readAllBytes(e.image), e.caption, e.width, e.height);
    }

    @Override
    public SkipCounter skips() {
        return skips;
    }
}
