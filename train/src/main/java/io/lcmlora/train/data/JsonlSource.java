package io.lcmlora.train.data;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A JSON-lines manifest, one example per line:
 * {@code {"image": "imgs/1.jpg", "caption": "a cat", "original_width": 3000, "original_height": 2000}}.
 * {@code file_name} (the diffusers imagefolder name) is accepted for {@code image}, {@code text} for {@code caption},
 * {@code width}/{@code height} for the original size. Relative image paths resolve against the manifest's folder.
 * Blank lines are ignored; malformed lines (bad JSON, not UTF-8, over {@link DataFiles#MAX_TEXT_BYTES}) are skipped
 * and counted (as {@code manifest:line}). Image paths come from data: only regular files within the size cap are read.
 */
public final class JsonlSource implements ImageCaptionSource {
    private record Entry(String id, Path image, String caption, int width, int height) {}

    private final List<Entry> entries = new ArrayList<>();
    private final SkipCounter skips;

    public JsonlSource(Path manifest, SkipCounter skips) throws IOException {
        this.skips = skips;
        if (!Files.isRegularFile(manifest)) {
            throw Files.exists(manifest)
                    ? new IOException(manifest + " (data.paths: a JSONL manifest must be a regular file, not a folder,"
                            + " device or pipe)")
                    : new NoSuchFileException(manifest + " (data.paths: no such JSONL manifest)");
        }
        Path base = manifest.toAbsolutePath().getParent();
        try (InputStream in = new BufferedInputStream(Files.newInputStream(manifest), 1 << 16)) {
            LineReader lines = new LineReader(in, DataFiles.MAX_TEXT_BYTES);
            for (byte[] bytes; (bytes = lines.next()) != null; ) {
                String where = manifest.getFileName() + ":" + lines.number();
                if (bytes == LineReader.TOO_LONG) {
                    skips.skip("bad manifest line", where + " (longer than " + DataFiles.MAX_TEXT_BYTES + " bytes)");
                    continue;
                }
                String line;
                try {
                    line = DataFiles.utf8(bytes, where);
                } catch (SkipException e) {
                    skips.skip("bad manifest line", where + " (not UTF-8)");
                    continue;
                }
                if (line.isBlank()) {
                    continue;
                }
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

    /** Lines split on '\n' (a trailing '\r' dropped) of at most {@code cap} bytes; longer ones are {@link #TOO_LONG}. */
    static final class LineReader {
        static final byte[] TOO_LONG = new byte[0];
        private final InputStream in;
        private final int cap;
        private byte[] buf = new byte[256];
        private int number;

        LineReader(InputStream in, int cap) {
            this.in = in;
            this.cap = cap;
        }

        /** 1-based number of the line last returned. */
        int number() {
            return number;
        }

        byte[] next() throws IOException {
            int n = 0;
            boolean tooLong = false;
            int c = in.read();
            if (c < 0) {
                return null;
            }
            number++;
            for (; c >= 0 && c != '\n'; c = in.read()) {
                if (n == cap) {
                    tooLong = true; // keep reading to the end of the line, storing nothing
                    continue;
                }
                if (n == buf.length) {
                    buf = Arrays.copyOf(buf, Math.min(cap, buf.length * 2));
                }
                buf[n++] = (byte) c;
            }
            if (tooLong) {
                return TOO_LONG;
            }
            if (n > 0 && buf[n - 1] == '\r') {
                n--;
            }
            return Arrays.copyOf(buf, n);
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
        return new RawSample(e.id, DataFiles.read(e.image, DataFiles.MAX_IMAGE_BYTES, e.id), e.caption, e.width, e.height);
    }

    @Override
    public SkipCounter skips() {
        return skips;
    }
}
