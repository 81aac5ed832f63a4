package io.lcmlora.train.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lcmlora.train.config.EvalConfig;
import io.lcmlora.train.parallel.Shard;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code lcm eval --shard i/N}: the shards split the (prompt, seed) images of every setting without overlap or gap,
 * a shard always owns the same images, and a final unsharded run regenerates nothing and measures what an unsharded
 * sweep measures.
 */
class ShardedEvalTest {
    @TempDir
    Path tmp;

    EvalConfig config(String dir) throws IOException {
        EvalSweepTest t = new EvalSweepTest();
        t.tmp = tmp.resolve(dir);
        return t.config();
    }

    @Test
    void threeShardsThenAFinalRunGiveTheUnshardedResults() throws IOException {
        EvalSweepTest.FakeGenerator whole = new EvalSweepTest.FakeGenerator();
        SweepResults want = EvalSweep.run(config("whole"), whole, FeatureExtractors.standard(), SweepProgress.none());
        int planned = whole.images.get(); // 5 settings x 6 prompts x 2 seeds x 2 images
        assertEquals(5 * 6 * 2 * 2, planned);

        EvalConfig cfg = config("sharded");
        java.nio.file.Files.createDirectories(Path.of(cfg.outputDir()));
        Set<Path> seen = new HashSet<>();
        long owned = 0;
        for (int i = 0; i < 3; i++) {
            EvalSweepTest.FakeGenerator gen = new EvalSweepTest.FakeGenerator();
            Set<Path> before = Set.copyOf(EvalSweepTest.pngTimes(Path.of(cfg.outputDir())).keySet());
            long n = EvalSweep.generateShard(cfg, gen, SweepProgress.none(), new Shard(i, 3));
            Set<Path> mine = new HashSet<>(EvalSweepTest.pngTimes(Path.of(cfg.outputDir())).keySet());
            mine.removeAll(before);
            assertEquals(n, gen.images.get(), "shard " + i + " generated exactly its images");
            assertEquals(n, mine.size());
            assertTrue(n == planned / 3, "60 units of 2 seeds split 20/20/20, got " + n);
            for (Path p : mine) {
                assertTrue(seen.add(p), p + " belongs to two shards");
            }
            owned += n;
        }
        assertEquals(planned, owned, "the shards cover the plan");

        EvalSweepTest.FakeGenerator again = new EvalSweepTest.FakeGenerator();
        assertEquals(planned / 3, EvalSweep.generateShard(cfg, again, SweepProgress.none(), new Shard(1, 3)));
        assertEquals(0, again.images.get(), "a shard rerun finds its images done");

        EvalSweepTest.FakeGenerator last = new EvalSweepTest.FakeGenerator();
        SweepResults got = EvalSweep.run(cfg, last, FeatureExtractors.standard(), SweepProgress.none());
        assertEquals(0, last.images.get(), "the final run only measures");
        assertEquals(0, last.opened.get(), "and loads no model");
        assertEquals(want.settings().size(), got.settings().size());
        for (int s = 0; s < want.settings().size(); s++) {
            assertEquals(want.settings().get(s).fid(), got.settings().get(s).fid(), 1e-9, want.settings().get(s).name());
            assertEquals(want.settings().get(s).samples(), got.settings().get(s).samples());
        }
    }

    @Test
    void shardsParseAndBadOnesAreNamed() {
        assertEquals(new Shard(2, 4), Shard.parse("2/4"));
        assertTrue(Shard.parse("0/1").isAll());
        for (String bad : new String[] {"4/4", "-1/2", "1/0", "x", "1/2/3", ""}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Shard.parse(bad), bad);
            assertTrue(e.getMessage().contains("--shard"), e.getMessage());
        }
        Shard s = new Shard(1, 3);
        assertEquals(Map.of(0L, false, 1L, true, 4L, true, 5L, false),
                Map.of(0L, s.owns(0), 1L, s.owns(1), 4L, s.owns(4), 5L, s.owns(5)));
    }
}
