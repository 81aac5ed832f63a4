package io.lcmlora.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class LoopStatsTest {
    @Test
    void medianMinMaxAsPythonStatistics() {
        LoopStats odd = new LoopStats("c", "m", new double[] {3, 1, 2}, new double[] {2, 1, 3}, 10, 5, 1, 0, -1);
        assertEquals(2, odd.median());
        assertEquals(1, odd.min());
        assertEquals(3, odd.max());
        LoopStats even = new LoopStats("c", "m", new double[] {4, 1, 3, 2}, new double[] {1, 1, 2, 2}, 10, 5, 1, 0, 7);
        assertEquals(2.5, even.median()); // statistics.median([1, 2, 3, 4])
        assertTrue(even.toString().startsWith("config=c measure=m median_s=2.5000 min_s=1.0000 max_s=4.0000"));
        assertEquals(1.5, even.cpuMedian());
        assertTrue(even.toString().endsWith(" cpu_median_s=1.5000 faults_per_iter=7"));
        assertThrows(IllegalArgumentException.class, () -> new LoopStats("c", "m", new double[] {1}, new double[] {}, 1, 1, 1, 0, 0));
    }

    @Test
    void runsWarmupUntimedAndCountsIterations() {
        int[] calls = new int[1];
        LoopStats s = LoopStats.run("c", "m", 2, 3, i -> {
            assertEquals(calls[0], i);
            calls[0]++;
        });
        assertEquals(5, calls[0]);
        assertEquals(3, s.seconds().length);
        assertEquals(3, s.cpuSeconds().length);
        assertTrue(s.peakRssMiB() >= s.peakLoopMiB());
        assertTrue(s.faultsPerIteration() >= 0, "faults per iteration read from /proc/self/stat");
        assertThrows(IllegalArgumentException.class, () -> LoopStats.run("c", "m", 0, 0, i -> { }));
    }

    @Test
    void minorFaultsCountFreshPages() {
        long before = Memory.minorFaults();
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocateDirect(64 << 20); // zeroed: every page touched
        for (int i = 0; i < b.capacity(); i += 4096) {
            b.put(i, (byte) 1);
        }
        long after = Memory.minorFaults();
        // 64 MiB is 16384 pages of 4 KiB, or 32 huge pages of 2 MiB where the kernel backs it with those
        assertTrue(after - before >= 32, "64 MiB touched gave " + (after - before) + " minor faults");
        assertEquals(1, b.get(4096));
    }

    @Test
    void namedWorkloadsAreThePeerConfigs() {
        Workload pub = Workload.named("public", Path.of("root"));
        assertEquals(Path.of("root/testdata/golden/unet"), pub.unetDir());
        assertEquals(2, pub.batch());
        assertEquals(16, pub.latent());
        assertEquals(4, pub.rank());
        Workload mid = Workload.named("mid", Path.of("root"));
        assertEquals(Path.of("root/../shared/peer/unets/mid"), mid.unetDir());
        assertEquals(32, mid.rank());
        assertEquals(Workload.Measure.SAMPLE4, Workload.Measure.parse("sample4"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Workload.named("big", Path.of(".")));
        assertTrue(e.getMessage().contains("expected public, small or mid"));
        IllegalArgumentException c = assertThrows(IllegalArgumentException.class,
                () -> Workload.named("small", Path.of("/nonexistent")).configJson());
        assertTrue(c.getMessage().contains("--unet"));
    }
}
