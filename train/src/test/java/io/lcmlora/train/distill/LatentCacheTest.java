package io.lcmlora.train.distill;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import io.lcmlora.train.config.TrainConfig;
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
}
