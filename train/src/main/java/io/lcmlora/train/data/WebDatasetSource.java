package io.lcmlora.train.data;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Webdataset {@code .tar} shards (a path is a shard or a folder of shards, taken in sorted order). Members are grouped
 * into examples by key as webdataset's {@code base_plus_ext} does: the key is the member path up to the first dot of
 * its file name, the extension the rest, lower-cased ({@code 00042.jpg} + {@code 00042.txt} + {@code 00042.json}).
 * An example needs an image ({@code jpg jpeg png webp bmp}) and a caption: {@code txt}/{@code text}/{@code caption},
 * else the {@code caption} or {@code text} key of its {@code json}, which may also give the original size
 * ({@code original_width}/{@code original_height}, or {@code width}/{@code height} as in the LAION shards). Data is
 * read straight from the shard by offset; nothing is extracted to disk.
 */
public final class WebDatasetSource implements ImageCaptionSource {
    static final Set<String> IMAGE_EXT = Set.of("jpg", "jpeg", "png", "webp", "bmp");
    static final Set<String> TEXT_EXT = Set.of("txt", "text", "caption");

    private record Example(int shard, String key, TarReader.Entry image, TarReader.Entry text, TarReader.Entry json) {}

    private final List<Path> shards = new ArrayList<>();
    private final List<FileChannel> channels = new ArrayList<>();
    private final List<Example> examples = new ArrayList<>();
    private final SkipCounter skips;

    public WebDatasetSource(List<Path> paths, SkipCounter skips) throws IOException {
        this.skips = skips;
        for (Path p : paths) {
            if (Files.isDirectory(p)) {
                try (Stream<Path> s = Files.list(p)) {
                    for (Path f : s.filter(f -> f.getFileName().toString().endsWith(".tar")).sorted().toList()) {
                        if (Files.isRegularFile(f)) {
                            shards.add(f);
                        } else {
                            skips.skip("not a regular file", f.toString());
                        }
                    }
                }
            } else if (Files.isRegularFile(p)) {
                shards.add(p);
            } else if (Files.exists(p)) {
                throw new IOException(p + " (data.paths: not a regular .tar file or a folder of them: devices and pipes"
                        + " are not read)");
            } else {
                throw new NoSuchFileException(p + " (data.paths: no such .tar shard or folder)");
            }
        }
        try {
            for (int i = 0; i < shards.size(); i++) {
                FileChannel ch = FileChannel.open(shards.get(i), StandardOpenOption.READ);
                channels.add(ch);
                index(i, list(ch, shards.get(i).getFileName().toString()));
            }
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
    }

    /**
     * The safe regular-file members of one shard; unsafe names and links/devices are skipped and counted, and a
     * corrupt or truncated header ends the shard (counted) keeping the members before it.
     */
    private List<TarReader.Entry> list(FileChannel ch, String shard) throws IOException {
        List<TarReader.Entry> out = new ArrayList<>();
        try (TarReader tar = TarReader.of(ch, shard)) {
            for (TarReader.Entry e = tar.next(); e != null; e = tar.next()) {
                if (e.isFile()) {
                    String safe = TarReader.safeName(e.name());
                    if (safe == null) {
                        skips.skip("unsafe tar member", shard + ":" + e.name());
                    } else {
                        out.add(new TarReader.Entry(safe, e.offset(), e.size(), e.type()));
                    }
                } else if (e.type() != '5') {
                    skips.skip("non-file tar member", shard + ":" + e.name());
                }
            }
        } catch (TarReader.TarException e) {
            skips.skip(e.reason(), e.getMessage());
        }
        return out;
    }

    private void index(int shard, List<TarReader.Entry> members) {
        Map<String, Map<String, TarReader.Entry>> byKey = new LinkedHashMap<>();
        String name = shards.get(shard).getFileName().toString();
        for (TarReader.Entry m : members) {
            int slash = m.name().lastIndexOf('/');
            int dot = m.name().indexOf('.', slash + 1);
            if (dot <= slash + 1 || dot == m.name().length() - 1) {
                skips.skip("tar member without key.extension", name + ":" + m.name());
                continue;
            }
            String key = m.name().substring(0, dot);
            String ext = m.name().substring(dot + 1).toLowerCase(Locale.ROOT);
            if (byKey.computeIfAbsent(key, k -> new LinkedHashMap<>()).putIfAbsent(ext, m) != null) {
                skips.skip("duplicate tar member", name + ":" + m.name());
            }
        }
        for (var e : byKey.entrySet()) {
            Map<String, TarReader.Entry> parts = e.getValue();
            TarReader.Entry image = first(parts, IMAGE_EXT);
            TarReader.Entry text = first(parts, TEXT_EXT);
            TarReader.Entry json = parts.get("json");
            if (image == null) {
                skips.skip("no image", name + ":" + e.getKey());
            } else if (text == null && json == null) {
                skips.skip("no caption", name + ":" + e.getKey());
            } else {
                examples.add(new Example(shard, e.getKey(), image, text, json));
            }
        }
    }

    private static TarReader.Entry first(Map<String, TarReader.Entry> parts, Set<String> exts) {
        for (var e : parts.entrySet()) {
            if (exts.contains(e.getKey())) {
                return e.getValue();
            }
        }
        return null;
    }

    @Override
    public int size() {
        return examples.size();
    }

    @Override
    public String id(int index) {
        Example e = examples.get(index);
        return shards.get(e.shard).getFileName() + ":" + e.key;
    }

    @Override
    public RawSample read(int index) throws IOException {
        Example e = examples.get(index);
        FileChannel ch = channels.get(e.shard);
        Path shard = shards.get(e.shard);
        String caption = null;
        int w = 0;
        int h = 0;
        if (e.json != null) {
            JsonObject o = json(DataFiles.utf8(bytes(ch, e.json, DataFiles.MAX_TEXT_BYTES, shard), id(index)), id(index));
            JsonElement c = o.has("caption") ? o.get("caption") : o.get("text");
            if (c != null && c.isJsonPrimitive() && c.getAsJsonPrimitive().isString()) {
                caption = c.getAsString();
            }
            w = JsonlSource.size(o, "original_width", "width");
            h = JsonlSource.size(o, "original_height", "height");
        }
        if (e.text != null) {
            caption = DataFiles.utf8(bytes(ch, e.text, DataFiles.MAX_TEXT_BYTES, shard), id(index));
        }
        if (caption == null) {
            throw new SkipException("no caption", id(index) + " (json has no caption/text)");
        }
        return new RawSample(id(index), bytes(ch, e.image, DataFiles.MAX_IMAGE_BYTES, shard), caption.strip(), w, h);
    }

    private static byte[] bytes(FileChannel ch, TarReader.Entry m, long max, Path shard) throws IOException {
        return TarReader.readAt(ch, m, max, shard.getFileName().toString());
    }

    private static JsonObject json(String text, String id) throws SkipException {
        try {
            JsonElement el = JsonParser.parseString(text);
            if (el.isJsonObject()) {
                return el.getAsJsonObject();
            }
        } catch (RuntimeException e) {
            // fall through
        }
        throw new SkipException("bad json", id);
    }

    @Override
    public SkipCounter skips() {
        return skips;
    }

    /** The shards indexed, in order. */
    public List<Path> shards() {
        return List.copyOf(shards);
    }

    @Override
    public void close() throws IOException {
        for (FileChannel ch : channels) {
            ch.close();
        }
    }
}
