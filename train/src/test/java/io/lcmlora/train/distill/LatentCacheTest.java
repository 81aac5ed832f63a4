package io.lcmlora.train.distill;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import io.lcmlora.train.config.TrainConfig;
import io.lcmlora.train.data.HostileData;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The latent cache is reused while its key holds and rebuilt (loading the encoders) when a caption, the resolution or its index changes. */
@ExtendWith(OneEngineThread.class)
class LatentCacheTest {
    static final PrintStream QUIET = new PrintStream(new ByteArrayOutputStream());

    final AtomicInteger loads = new AtomicInteger();

    LatentCache open(TrainConfig c, Path cache) throws IOException {
        return LatentCache.openOrBuild(c, cache, () -> {
            loads.incrementAndGet();
            try {
                return ConditioningEncoder.load(c.model(), Device.cpu(), DataType.FLOAT32);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }, QUIET);
    }

    @Test
    void rebuildsExactlyWhenWhatItDependsOnChanges(@TempDir Path tmp) throws IOException {
        Path images = tmp.resolve("images");
        Files.createDirectories(images);
        try (Stream<Path> s = Files.list(TinyRun.ROOT.resolve("testdata/tiny-images"))) {
            for (Path p : s.toList()) {
                Files.copy(p, images.resolve(p.getFileName()));
            }
        }
        Path cache = tmp.resolve("cache");
        TrainConfig c = TinyRun.config(tmp.resolve("run"), "data.paths=[" + images + "]");

        CachedExample first;
        List<CachedExample> before = new ArrayList<>();
        try (LatentCache a = open(c, cache)) {
            assertTrue(a.built());
            assertEquals(1, loads.get());
            assertEquals(4, a.size());
            assertEquals(0.13025, a.scalingFactor());
            first = a.get(0, null);
            assertArrayEquals(new long[] {4, 16, 16}, first.latentShape(), "64 px through a 3-level VAE (factor 4)");
            assertArrayEquals(new long[] {77, 64}, first.embedShape(), "both encoders' hidden states concatenated");
            assertEquals(32, first.pooled().length);
            assertArrayEquals(new float[] {64, 64, 0, 0, 64, 64}, first.timeIds(), "fix_crop_and_size");
            for (float s : first.std()) {
                assertTrue(s > 0 && Float.isFinite(s));
            }
            for (int i = 0; i < a.size(); i++) {
                before.add(a.get(i, null));
            }
        }
        try (LatentCache b = open(c, cache)) {
            assertFalse(b.built(), "same key: reused");
            assertEquals(1, loads.get(), "the encoders were not loaded");
            CachedExample again = b.get(0, null);
            assertArrayEquals(first.mean(), again.mean());
            assertArrayEquals(first.promptEmbeds(), again.promptEmbeds());
        }

        Files.writeString(images.resolve("red-square.txt"), "a blue square");
        try (LatentCache d = open(c, cache)) {
            assertTrue(d.built(), "a caption changed: rebuilt");
            assertEquals(2, loads.get());
            for (int i = 0; i < d.size(); i++) {
                CachedExample now = d.get(i, null);
                assertArrayEquals(before.get(i).mean(), now.mean(), "the images did not change");
                boolean changed = !Arrays.equals(before.get(i).promptEmbeds(), now.promptEmbeds());
                assertEquals(d.ids().get(i).startsWith("red-square"), changed, d.ids().get(i));
            }
        }

        TrainConfig small = TinyRun.config(tmp.resolve("run"), "data.paths=[" + images + "]", "data.resolution=32");
        try (LatentCache e = open(small, cache)) {
            assertTrue(e.built(), "another resolution: rebuilt");
            assertArrayEquals(new long[] {4, 8, 8}, e.get(0, null).latentShape());
        }

        Files.delete(cache.resolve(LatentCache.INDEX)); // a build cut before its index was written
        try (LatentCache f = open(small, cache)) {
            assertTrue(f.built(), "no index: rebuilt");
            assertEquals(4, loads.get());
        }
    }

    /**
     * Issue 12: a build over a hostile manifest (bombs, /dev/zero, a FIFO, invalid UTF-8, empty captions) completes,
     * prints the skip counts by reason, records them in index.json, and the partial files of an interrupted earlier
     * build are removed first. Two decoding workers give the same cache as none.
     */
    @Test
    void hostileDataBuildsCountingEverySkipAndCleansPartialFiles(@TempDir Path tmp) throws Exception {
        HostileData.Fixture f = HostileData.jsonl(tmp.resolve("data"));
        Path cache = tmp.resolve("cache");
        Files.createDirectories(cache);
        Path partial = Files.write(cache.resolve(".shard-00000.safetensors.k3j2.tmp"), new byte[0]);
        Path partialIndex = Files.write(cache.resolve(".index.json.x1.tmp"), new byte[] {'{'});
        Path unrelated = Files.write(cache.resolve(".keep.tmp"), new byte[0]);
        TrainConfig c = TinyRun.config(tmp.resolve("run"), "data.source=jsonl", "data.paths=[" + f.path() + "]",
                "data.num_workers=2", "data.crop=random", "data.random_flip=true", "data.fix_crop_and_size=false");
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        List<CachedExample> two = new ArrayList<>();
        try (LatentCache a = LatentCache.openOrBuild(c, cache, () -> load(c), new PrintStream(log, true))) {
            assertTrue(a.built());
            assertEquals(f.usable(), a.size());
            for (int i = 0; i < a.size(); i++) {
                two.add(a.get(i, null));
            }
        }
        String out = log.toString();
        assertTrue(out.contains("removed 2 partial file(s)"), out);
        assertFalse(Files.exists(partial) || Files.exists(partialIndex));
        assertTrue(Files.exists(unrelated), "only the cache's own temporary files are removed");
        assertTrue(out.contains("latent cache: " + f.usable() + " examples cached, skipped 11: bad manifest line 4"), out);
        assertTrue(out.contains("not a regular file 3") && out.contains("; used: empty caption 2"), out);
        String index = Files.readString(cache.resolve(LatentCache.INDEX));
        assertTrue(index.contains("\"image too large\": 3") && index.contains("\"empty caption\": 2"), index);

        // data.num_workers is not part of the key (reused), and a fresh build with none gives the same tensors.
        TrainConfig serial = TinyRun.config(tmp.resolve("run"), "data.source=jsonl", "data.paths=[" + f.path() + "]",
                "data.num_workers=0", "data.crop=random", "data.random_flip=true", "data.fix_crop_and_size=false");
        try (LatentCache b = LatentCache.openOrBuild(serial, cache, () -> load(serial), QUIET)) {
            assertFalse(b.built(), "num_workers does not change the cache key");
        }
        Files.delete(cache.resolve(LatentCache.INDEX));
        try (LatentCache b = LatentCache.openOrBuild(serial, cache, () -> load(serial), QUIET)) {
            assertTrue(b.built());
            for (int i = 0; i < b.size(); i++) {
                CachedExample e = b.get(i, null);
                assertArrayEquals(two.get(i).mean(), e.mean(), "example " + i);
                assertArrayEquals(two.get(i).timeIds(), e.timeIds(), "example " + i);
            }
        }
    }

    private ConditioningEncoder load(TrainConfig c) {
        loads.incrementAndGet();
        try {
            return ConditioningEncoder.load(c.model(), Device.cpu(), DataType.FLOAT32);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * index.json is untrusted: an index over {@link LatentCache#MAX_INDEX_BYTES} (a sparse file: nothing is
     * allocated) or a FIFO is refused before reading, naming the file and the fix; a readable index with a shard
     * name leaving the folder or a field of the wrong type is a broken cache, rebuilt with a line saying why.
     */
    @Test
    void anOversizedOrGarbageIndexIsRefusedOrRebuiltNamingTheFile(@TempDir Path tmp) throws Exception {
        Path cache = tmp.resolve("cache");
        TrainConfig c = TinyRun.config(tmp.resolve("run"));
        try (LatentCache a = open(c, cache)) {
            assertTrue(a.built());
        }
        Path index = cache.resolve(LatentCache.INDEX);
        String good = Files.readString(index);

        String escaped = good.replace("\"shard\": \"shard-", "\"shard\": \"../shard-");
        assertNotEquals(good, escaped);
        Files.writeString(index, escaped);
        ByteArrayOutputStream said = new ByteArrayOutputStream();
        try (LatentCache b = LatentCache.openOrBuild(c, cache, () -> load(c), new PrintStream(said, true))) {
            assertTrue(b.built(), "a shard outside the folder: rebuilt");
        }
        assertTrue(said.toString().contains("latent cache: " + index + " is not a valid index (shard '../shard-"), said.toString());

        Files.writeString(index, good.replace("\"examples\": [", "\"examples\": \"x\", \"was\": ["));
        said.reset();
        try (LatentCache b = LatentCache.openOrBuild(c, cache, () -> load(c), new PrintStream(said, true))) {
            assertTrue(b.built(), "examples not an array: rebuilt");
        }
        assertTrue(said.toString().contains(index + " is not a valid index ("), said.toString());

        Files.delete(index);
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(index.toFile(), "rw")) {
            f.setLength(LatentCache.MAX_INDEX_BYTES + 1);
        }
        IOException big = assertThrows(IOException.class, () -> open(c, cache));
        assertTrue(big.getMessage().startsWith(index + ": cannot be the latent cache index (file too large: index.json ("
                + index + " is " + (LatentCache.MAX_INDEX_BYTES + 1) + " bytes, at most " + LatentCache.MAX_INDEX_BYTES
                + " accepted)") && big.getMessage().endsWith("delete it (the cache is then rebuilt) or point cache.dir "
                + "elsewhere"), big.getMessage());

        Files.delete(index);
        Process mkfifo = new ProcessBuilder("mkfifo", index.toString()).start();
        assertEquals(0, mkfifo.waitFor());
        IOException fifo = assertThrows(IOException.class, () -> open(c, cache)); // would block forever if opened
        assertTrue(fifo.getMessage().contains(index + ": cannot be the latent cache index (not a regular file"),
                fifo.getMessage());
    }

    /** Without a cache the probe pass decodes on data.num_workers threads; usable examples and counts do not change. */
    @Test
    void liveDataProbeIsTheSameForAnyWorkerCount(@TempDir Path tmp) throws Exception {
        HostileData.Fixture f = HostileData.jsonl(tmp.resolve("data"));
        List<String> reports = new ArrayList<>();
        List<int[]> buckets = new ArrayList<>();
        for (int workers : new int[] {0, 3}) {
            TrainConfig c = TinyRun.config(tmp.resolve("run"), "data.source=jsonl", "data.paths=[" + f.path() + "]",
                    "cache.enabled=false", "data.num_workers=" + workers);
            try (LiveData d = LiveData.open(c, load(c))) {
                assertEquals(f.usable(), d.size());
                buckets.add(d.buckets());
                reports.add(d.skipReport());
            }
        }
        assertArrayEquals(buckets.get(0), buckets.get(1));
        assertEquals(reports.get(0), reports.get(1));
        assertTrue(reports.get(0).startsWith("skipped 11: "), reports.get(0));
    }
}
