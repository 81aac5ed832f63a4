package io.lcmlora.train.distill;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import io.lcmlora.io.AtomicFiles;
import io.lcmlora.io.DType;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.io.SafeTensorsWriter;
import io.lcmlora.train.config.DataConfig;
import io.lcmlora.train.config.ModelConfig;
import io.lcmlora.train.config.TrainConfig;
import io.lcmlora.train.data.DataFiles;
import io.lcmlora.train.data.ImageCaptionSource;
import io.lcmlora.train.data.ImageDataset;
import io.lcmlora.train.data.RawSample;
import io.lcmlora.train.data.SkipException;
import io.lcmlora.train.loop.Rng;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.stream.Stream;
import java.util.zip.CRC32;

/**
 * VAE latent distributions and prompt embeddings computed once into safetensors shards, so training reads tensors
 * and never loads the VAE or the text encoders. Layout of the cache folder:
 * <pre>
 *   shard-00000.safetensors   per example k: k.latent_mean, k.latent_std [C, h, w], k.prompt_embeds [T, D],
 *                             k.pooled_prompt_embeds [P], k.time_ids [6] (F32)
 *   index.json                key, what it was computed from, the usable examples (index, id, shard, bucket),
 *                             skip counts, the VAE scaling factor; written last
 * </pre>
 * The key is a SHA-256 over everything the tensors depend on: the VAE, text-encoder and tokenizer files (absolute
 * path, size, modification time), the weights dtype, the image settings (resolution, crop, flip, fixed crop and
 * size, interpolation, buckets), the seed (random crops and flips are drawn once, at build time, from a seeded
 * stream), and every example's id, caption and image bytes (length + CRC-32). When the stored key differs the cache
 * is rebuilt. A build first deletes index.json, writes every shard atomically, then index.json atomically: a crash
 * at any moment leaves either a complete cache or one without index.json, which is rebuilt.
 */
public final class LatentCache implements TrainingData {
    public static final String INDEX = "index.json";
    /** Largest index.json read: about 1.6 million examples at ~160 bytes each (pretty-printed). */
    public static final long MAX_INDEX_BYTES = 256L << 20;
    static final String FORMAT = "lcm-lora-java latent cache";
    static final int SHARD_EXAMPLES = 256;
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();

    private record Entry(int index, String id, String shard, int bucket) {}

    private final Path dir;
    private final List<Entry> entries;
    private final int[] buckets;
    private final double scalingFactor;
    private final boolean built;
    private final Map<String, SafeTensorsFile> open = new HashMap<>();

    private LatentCache(Path dir, List<Entry> entries, double scalingFactor, boolean built) {
        this.dir = dir;
        this.entries = entries;
        this.buckets = entries.stream().mapToInt(Entry::bucket).toArray();
        this.scalingFactor = scalingFactor;
        this.built = built;
    }

    /**
     * Opens the cache in {@code dir} when its key matches, else builds it with encoders from {@code encoders} (loaded
     * only then). {@code log} receives one line about what happened.
     */
    public static LatentCache openOrBuild(TrainConfig config, Path dir, Supplier<ConditioningEncoder> encoders,
            PrintStream log) throws IOException {
        try (ImageCaptionSource source = ImageCaptionSource.open(config.data())) {
            int stale = deleteStaleTemps(dir);
            if (stale > 0) {
                log.println("latent cache: removed " + stale + " partial file(s) left in " + dir + " by an interrupted write");
            }
            String key = key(config, source);
            Optional<LatentCache> existing = open(dir, key, log);
            if (existing.isPresent()) {
                log.println("latent cache: " + dir + " is up to date (" + existing.get().size() + " examples)");
                return existing.get();
            }
            log.println("latent cache: building " + dir + " (" + source.size() + " examples; key " + key.substring(0, 12) + ")");
            try (ConditioningEncoder enc = encoders.get()) {
                LatentCache cache = build(config, dir, key, source, enc);
                log.println("latent cache: " + cache.size() + " examples cached, " + source.skips().report());
                return cache;
            }
        }
    }

    /**
     * The cache in {@code dir} if it is complete and has this key. index.json is untrusted like every file: it must
     * be a regular file of at most {@link #MAX_INDEX_BYTES} (checked before reading; anything else is an error naming
     * it and the fix); a readable index whose content is malformed is a broken cache, rebuilt with a line on
     * {@code log} saying why.
     */
    static Optional<LatentCache> open(Path dir, String key, PrintStream log) throws IOException {
        Path index = dir.resolve(INDEX);
        if (!Files.exists(index)) {
            return Optional.empty();
        }
        byte[] bytes;
        try {
            bytes = DataFiles.read(index, MAX_INDEX_BYTES, INDEX);
        } catch (SkipException e) {
            throw new IOException(index + ": cannot be the latent cache index (" + e.getMessage() + "; an index is a "
                    + "regular file of at most " + MAX_INDEX_BYTES + " bytes, about " + MAX_INDEX_BYTES / 160
                    + " examples); delete it (the cache is then rebuilt) or point cache.dir elsewhere", e);
        }
        try {
            JsonObject doc = JsonParser.parseString(DataFiles.utf8(bytes, INDEX)).getAsJsonObject();
            if (!FORMAT.equals(field(doc, "format").getAsString()) || !key.equals(field(doc, "key").getAsString())) {
                return Optional.empty();
            }
            List<Entry> entries = new ArrayList<>();
            for (JsonElement el : field(doc, "examples").getAsJsonArray()) {
                JsonObject o = el.getAsJsonObject();
                String shard = field(o, "shard").getAsString();
                Path file = dir.resolve(shard).normalize();
                if (!dir.resolve(file.getFileName()).normalize().equals(file)
                        || !file.getFileName().toString().equals(shard)) {
                    throw new IllegalStateException("shard '" + shard + "' is not a file name inside the cache folder");
                }
                if (!Files.isRegularFile(file)) {
                    return Optional.empty();
                }
                entries.add(new Entry(field(o, "index").getAsInt(), field(o, "id").getAsString(), shard,
                        field(o, "bucket").getAsInt()));
            }
            return Optional.of(new LatentCache(dir, entries, field(doc, "scaling_factor").getAsDouble(), false));
        } catch (SkipException | JsonParseException | IllegalStateException | ClassCastException
                | UnsupportedOperationException | NumberFormatException e) {
            log.println("latent cache: " + index + " is not a valid index (" + e.getMessage() + "): rebuilding the cache");
            return Optional.empty();
        }
    }

    private static JsonElement field(JsonObject o, String name) {
        JsonElement e = o.get(name);
        if (e == null || e.isJsonNull()) {
            throw new IllegalStateException("field '" + name + "' is missing");
        }
        return e;
    }

    private static LatentCache build(TrainConfig config, Path dir, String key, ImageCaptionSource source,
            ConditioningEncoder enc) throws IOException {
        Files.createDirectories(dir);
        Files.deleteIfExists(dir.resolve(INDEX));
        try (Stream<Path> old = Files.list(dir)) {
            for (Path p : old.filter(p -> p.getFileName().toString().startsWith("shard-")).toList()) {
                Files.delete(p);
            }
        }
        ImageDataset dataset = ImageDataset.of(source, config.data());
        List<Entry> entries = new ArrayList<>();
        List<ImageDataset.Example> pending = new ArrayList<>();
        ShardWriter shards = new ShardWriter(dir);
        int batchSize = config.cache().vaeEncodeBatchSize();
        // Example i draws its crop/flip from its own stream: the cache is the same for every data.num_workers.
        dataset.forEach(config.data().numWorkers(), i -> augmentRng(config.seed(), i), e -> {
            if (!pending.isEmpty() && pending.get(0).bucket() != e.bucket()) {
                flush(enc, pending, shards, entries);
            }
            pending.add(e);
            if (pending.size() == batchSize) {
                flush(enc, pending, shards, entries);
            }
        });
        flush(enc, pending, shards, entries);
        shards.finish();
        if (entries.isEmpty()) {
            throw new IOException("latent cache: no usable example in " + config.data().paths() + " ("
                    + dataset.skips().report() + ")");
        }
        JsonObject doc = new JsonObject();
        doc.addProperty("format", FORMAT);
        doc.addProperty("version", 1);
        doc.addProperty("key", key);
        doc.add("key_parts", keyParts(config));
        doc.addProperty("scaling_factor", enc.scalingFactor());
        JsonArray examples = new JsonArray();
        for (Entry en : entries) {
            JsonObject o = new JsonObject();
            o.addProperty("index", en.index());
            o.addProperty("id", en.id());
            o.addProperty("shard", en.shard());
            o.addProperty("bucket", en.bucket());
            examples.add(o);
        }
        doc.add("examples", examples);
        doc.add("skipped", GSON.toJsonTree(dataset.skips().counts()));
        doc.add("used_with_problems", GSON.toJsonTree(dataset.skips().kept()));
        AtomicFiles.writeString(dir.resolve(INDEX), GSON.toJson(doc));
        return new LatentCache(dir, entries, enc.scalingFactor(), true);
    }

    /** The crop/flip stream of example {@code index} at build time. */
    static Rng augmentRng(long seed, int index) {
        return Rng.stream(seed, "cache-augment/" + index);
    }

    /**
     * Deletes the temporary files of atomic writes that a killed build left ({@code .shard-*.tmp},
     * {@code .index.json.*.tmp}); returns how many. They are never part of a cache: the writer renames them when done.
     */
    static int deleteStaleTemps(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        int n = 0;
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.toList()) {
                String name = p.getFileName().toString();
                if ((name.startsWith(".shard-") || name.startsWith("." + INDEX + ".")) && name.endsWith(".tmp")
                        && Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    Files.delete(p);
                    n++;
                }
            }
        }
        return n;
    }

    private static void flush(ConditioningEncoder enc, List<ImageDataset.Example> pending, ShardWriter shards,
            List<Entry> entries) throws IOException {
        if (pending.isEmpty()) {
            return;
        }
        List<CachedExample> encoded = enc.encode(pending);
        for (int i = 0; i < encoded.size(); i++) {
            ImageDataset.Example e = pending.get(i);
            entries.add(new Entry(e.index(), e.id(), shards.add(encoded.get(i)), e.bucket()));
        }
        pending.clear();
    }

    /** Accumulates examples and writes a shard every {@link #SHARD_EXAMPLES}. */
    private static final class ShardWriter {
        private final Path dir;
        private SafeTensorsWriter current = new SafeTensorsWriter();
        private int count;
        private int shard;

        ShardWriter(Path dir) {
            this.dir = dir;
        }

        /** Adds an example and returns the name of the shard it goes to. */
        String add(CachedExample e) throws IOException {
            String k = Integer.toString(e.index());
            current.addFloats(k + ".latent_mean", e.latentShape(), e.mean(), DType.F32);
            current.addFloats(k + ".latent_std", e.latentShape(), e.std(), DType.F32);
            current.addFloats(k + ".prompt_embeds", e.embedShape(), e.promptEmbeds(), DType.F32);
            current.addFloats(k + ".pooled_prompt_embeds", new long[] {e.pooled().length}, e.pooled(), DType.F32);
            current.addFloats(k + ".time_ids", new long[] {6}, e.timeIds(), DType.F32);
            String name = name(shard);
            if (++count == SHARD_EXAMPLES) {
                finish();
            }
            return name;
        }

        void finish() throws IOException {
            if (count > 0) {
                current.metadata("format", FORMAT).write(dir.resolve(name(shard)));
                shard++;
                count = 0;
                current = new SafeTensorsWriter();
            }
        }

        private static String name(int shard) {
            return String.format("shard-%05d.safetensors", shard);
        }
    }

    /** The cache key of this config over this source (reads every example's bytes, decodes none). */
    public static String key(TrainConfig config, ImageCaptionSource source) throws IOException {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        sha.update((GSON.toJson(keyParts(config)) + "\n").getBytes(StandardCharsets.UTF_8));
        for (int i = 0; i < source.size(); i++) {
            String line;
            try {
                RawSample s = source.read(i);
                CRC32 crc = new CRC32();
                crc.update(s.image());
                line = s.id() + "\t" + s.caption() + "\t" + s.image().length + "\t" + Long.toHexString(crc.getValue())
                        + "\t" + s.originalWidth() + "x" + s.originalHeight();
            } catch (IOException e) {
                line = source.id(i) + "\tunreadable";
            }
            sha.update((line + "\n").getBytes(StandardCharsets.UTF_8));
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    /** Everything but the examples that the cached tensors depend on (stored in index.json for people to read). */
    static JsonObject keyParts(TrainConfig config) {
        JsonObject o = new JsonObject();
        ModelConfig m = config.model();
        JsonObject models = new JsonObject();
        for (String c : List.of("vae", "text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2")) {
            models.add(c, identity(m, c));
        }
        o.add("models", models);
        o.addProperty("variant", String.valueOf(m.variant()));
        o.addProperty("weights_dtype", config.precision().weightsDtype().name());
        DataConfig d = config.data();
        o.addProperty("source", d.source().name());
        o.addProperty("resolution", d.resolution());
        o.addProperty("crop", d.crop().name());
        o.addProperty("random_flip", d.randomFlip());
        o.addProperty("fix_crop_and_size", d.fixCropAndSize());
        o.addProperty("interpolation", d.interpolation().name());
        o.addProperty("buckets", d.buckets());
        o.addProperty("empty_captions", d.emptyCaptions().name());
        o.addProperty("seed", config.seed());
        o.addProperty("augment", "per-example streams"); // caches of the earlier single-stream draws are rebuilt
        return o;
    }

    /** Path, size and modification time of every file of a component folder (or the single checkpoint file). */
    private static JsonElement identity(ModelConfig m, String component) {
        Path p;
        try {
            p = m.component(component);
        } catch (RuntimeException e) {
            p = m.path() == null ? null : Path.of(m.path());
        }
        JsonObject o = new JsonObject();
        if (p == null || !Files.exists(p)) {
            o.addProperty("path", String.valueOf(p));
            o.addProperty("missing", true);
            return o;
        }
        o.addProperty("path", p.toAbsolutePath().normalize().toString());
        JsonArray files = new JsonArray();
        try {
            List<Path> list = new ArrayList<>();
            if (Files.isDirectory(p)) {
                try (DirectoryStream<Path> ds = Files.newDirectoryStream(p)) {
                    ds.forEach(f -> {
                        if (Files.isRegularFile(f)) {
                            list.add(f);
                        }
                    });
                }
            } else {
                list.add(p);
            }
            list.sort(null);
            for (Path f : list) {
                files.add(f.getFileName() + " " + Files.size(f) + " " + Files.getLastModifiedTime(f).toMillis());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        o.add("files", files);
        return o;
    }

    /** True when this run built the cache (and so loaded the encoders). */
    public boolean built() {
        return built;
    }

    public Path dir() {
        return dir;
    }

    /** The source ids of the cached examples, by position. */
    public List<String> ids() {
        return entries.stream().map(Entry::id).toList();
    }

    @Override
    public int size() {
        return entries.size();
    }

    @Override
    public int[] buckets() {
        return buckets.clone();
    }

    @Override
    public double scalingFactor() {
        return scalingFactor;
    }

    @Override
    public boolean encodersLoaded() {
        return built;
    }

    /** The cached example at {@code position} ({@code augment} is unused: augmentation happened at build time). */
    @Override
    public CachedExample get(int position, Rng augment) throws IOException {
        Entry e = entries.get(position);
        SafeTensorsFile f = open.get(e.shard());
        if (f == null) {
            f = SafeTensorsFile.open(dir.resolve(e.shard()));
            open.put(e.shard(), f);
        }
        String k = Integer.toString(e.index());
        try {
            return new CachedExample(e.index(), f.info(k + ".latent_mean").shape(), f.floats(k + ".latent_mean"),
                    f.floats(k + ".latent_std"), f.info(k + ".prompt_embeds").shape(), f.floats(k + ".prompt_embeds"),
                    f.floats(k + ".pooled_prompt_embeds"), f.floats(k + ".time_ids"));
        } catch (RuntimeException ex) {
            throw new IOException(dir.resolve(e.shard()) + ": cached example " + k + " (" + e.id() + ") is unreadable: "
                    + ex.getMessage() + "; delete " + dir.resolve(INDEX) + " to rebuild the cache", ex);
        }
    }

    @Override
    public void close() throws IOException {
        for (SafeTensorsFile f : open.values()) {
            f.close();
        }
        open.clear();
    }
}
