package io.lcmlora.train.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lcmlora.train.config.DataConfig;
import io.lcmlora.train.config.TrainConfig;
import io.lcmlora.train.loop.Rng;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 12's hostile data sets (image bombs, /dev/zero, a FIFO, invalid UTF-8, empty captions, hostile tar headers;
 * see {@link HostileData}) go through the sources and the decode/transform pipeline: every bad example is skipped
 * and counted under the right reason, nothing hangs or runs out of memory, and the result is the same for every
 * {@code data.num_workers}. Memory is asserted on the bounds computed before allocating, with a 64 MiB per-image cap.
 */
class DataIntakeFuzzTest {
    private static DataConfig data(String source, Path path, String... sets) {
        List<String> all = new ArrayList<>(List.of("data.source=" + source, "data.paths=['" + path + "']",
                "data.resolution=16", "data.crop=random", "data.random_flip=true", "data.fix_crop_and_size=false"));
        all.addAll(List.of(sets));
        return TrainConfig.parse("", all).data();
    }

    private static List<ImageDataset.Example> loadAll(DataConfig d, int workers, SkipCounter[] counts) throws IOException {
        try (ImageCaptionSource src = ImageCaptionSource.open(d)) {
            ImageDataset ds = ImageDataset.of(src, d, HostileData.BUDGET);
            List<ImageDataset.Example> out = new ArrayList<>();
            ds.forEach(workers, i -> Rng.stream(7, "fuzz/" + i), out::add);
            assertEquals(HostileData.BUDGET / 1024, ds.freeBudgetKib(), "every reservation was returned");
            counts[0] = ds.skips();
            return out;
        }
    }

    @Test
    void hostileManifestCompletesWithEverySkipCountedIdenticallyForAnyWorkerCount(@TempDir Path dir) throws Exception {
        HostileData.Fixture f = HostileData.jsonl(dir);
        SkipCounter[] c0 = new SkipCounter[1];
        List<ImageDataset.Example> serial = loadAll(data("jsonl", f.path()), 0, c0);
        assertEquals(f.usable(), serial.size(), c0[0].report());
        assertEquals(f.skipped(), c0[0].counts(), c0[0].report());
        assertEquals(f.used(), c0[0].kept());
        assertTrue(c0[0].report().contains("; used: empty caption 2"), c0[0].report());
        assertEquals(List.of("red", "", "", "thin", "wide"),
                serial.stream().map(ImageDataset.Example::caption).toList());

        for (int workers : new int[] {1, 3}) {
            SkipCounter[] c = new SkipCounter[1];
            List<ImageDataset.Example> par = loadAll(data("jsonl", f.path(), "data.num_workers=" + workers), workers, c);
            assertEquals(c0[0].report(), c[0].report(), "the same report, example ids in the same order");
            assertEquals(serial.size(), par.size());
            for (int i = 0; i < serial.size(); i++) {
                assertEquals(serial.get(i).id(), par.get(i).id());
                assertEquals(serial.get(i).image().conditioning(), par.get(i).image().conditioning());
                assertArrayEquals(serial.get(i).image().pixels(), par.get(i).image().pixels(), serial.get(i).id());
            }
        }

        // data.empty_captions=skip: the two blank captions are skipped instead of used.
        SkipCounter[] cs = new SkipCounter[1];
        List<ImageDataset.Example> strict = loadAll(data("jsonl", f.path(), "data.empty_captions=skip"), 2, cs);
        assertEquals(f.usable() - 2, strict.size());
        assertEquals(2, cs[0].count("empty caption"));
        assertEquals(Map.of(), cs[0].kept());
    }

    /** The bombs' allocations, computed before any pixel exists, are what the 16 x 16 output needs. */
    @Test
    void bombsAllocateWhatTheOutputNeeds() {
        Preprocess p = new Preprocess(DataConfig.Crop.RANDOM, false, false, DataConfig.Interpolation.BICUBIC);
        long output = 2L * 3 * 4 * 16 * 16; // the resized window and the [3, 16, 16] result, float32
        for (int[] wh : new int[][] {{1, 100_000}, {100_000, 1}, {1, 4_000_000}, {1, 67_000_000}}) {
            Preprocess.Plan plan = p.plan(wh[0], wh[1], 16, 16);
            // cover-resize: the short side to 16, the long one 16 * long (the resized image is 1.07e9 px for 67M)
            assertEquals(16L * Math.max(wh[0], wh[1]), (long) plan.resizedWidth() * plan.resizedHeight() / 16);
            // window + output + one 16-wide intermediate + weight rows (bicubic upsampling: at most 6 taps)
            long bound = output + 3L * 4 * 16 * 16 + 2L * 16 * (6 * 8 + 40);
            assertTrue(plan.workingBytes() <= bound, wh[0] + "x" + wh[1] + ": " + plan.workingBytes() + " > " + bound);
        }
        // An ordinary downscale keeps the horizontal-first order: h x cw floats per channel.
        Preprocess.Plan photo = p.plan(4000, 3000, 1024, 1024);
        assertEquals(1365, photo.resizedWidth()); // int(1024 * 4000 / 3000)
        assertTrue(photo.workingBytes() < 3L * 4 * 3000 * 1024 + 2 * 3L * 4 * 1024 * 1024 + (1L << 20));
        // Decoding is bounded by the header: 12 bytes a pixel at most.
        assertEquals(12L * 67_000_000, new ImageDecoder.Size(1, 67_000_000).decodeBytes());
        assertTrue(new ImageDecoder.Size(1, 67_000_000).decodeBytes() > HostileData.BUDGET);
    }

    @Test
    void hostileShardsKeepTheMembersBeforeTheBadHeader(@TempDir Path dir) throws IOException {
        HostileData.Fixture f = HostileData.shards(dir);
        for (int workers : new int[] {0, 2}) {
            SkipCounter[] c = new SkipCounter[1];
            List<ImageDataset.Example> ex = loadAll(data("webdataset", f.path(), "data.num_workers=" + workers), workers, c);
            assertEquals(f.usable(), ex.size(), c[0].report());
            assertEquals(f.skipped(), c[0].counts(), c[0].report());
            assertEquals(List.of("zero", "one", "good", "good", "good", "good", "good", "good"),
                    ex.stream().map(ImageDataset.Example::caption).toList());
        }
    }
}
