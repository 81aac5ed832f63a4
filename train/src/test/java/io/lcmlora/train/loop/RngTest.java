package io.lcmlora.train.loop;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class RngTest {
    @Test
    void xoshiro256StarStarReferenceVector() {
        // Reference C code (prng.di.unimi.it/xoshiro256starstar.c) from state {1, 2, 3, 4}.
        Rng r = Rng.fromState("0000000000000001" + "0000000000000002" + "0000000000000003" + "0000000000000004");
        assertEquals(11520L, r.nextLong());
        assertEquals(0L, r.nextLong());
        assertEquals(1509978240L, r.nextLong());
        assertEquals(1215971899390074240L, r.nextLong());
    }

    @Test
    void stateRoundTripContinuesTheSameSequence() {
        Rng a = Rng.stream(42, "noise");
        for (int i = 0; i < 17; i++) {
            a.nextGaussian();
        }
        Rng b = Rng.fromState(a.state());
        float[] x = new float[101];
        float[] y = new float[101];
        a.fillGaussian(x);
        b.fillGaussian(y);
        assertArrayEquals(x, y);
        assertEquals(a.nextInt(1000), b.nextInt(1000));
        assertArrayEquals(a.permutation(50), b.permutation(50));
        assertThrows(IllegalArgumentException.class, () -> Rng.fromState("xyz"));
    }

    @Test
    void streamsAreDistinctAndSeeded() {
        assertEquals(Rng.stream(1, "noise").nextLong(), Rng.stream(1, "noise").nextLong());
        assertNotEquals(Rng.stream(1, "noise").nextLong(), Rng.stream(1, "timesteps").nextLong());
        assertNotEquals(Rng.stream(1, "noise").nextLong(), Rng.stream(2, "noise").nextLong());
    }

    @Test
    void distributions() {
        Rng r = Rng.seeded(7);
        int n = 200_000;
        float[] g = new float[n];
        r.fillGaussian(g);
        double mean = 0;
        double sq = 0;
        for (float v : g) {
            mean += v;
            sq += (double) v * v;
        }
        mean /= n;
        double var = sq / n - mean * mean;
        assertEquals(0, mean, 0.01); // 4.5 standard errors
        assertEquals(1, var, 0.015);
        int[] counts = new int[10];
        for (int i = 0; i < n; i++) {
            counts[r.nextInt(10)]++;
        }
        double chi2 = 0;
        for (int c : counts) {
            chi2 += Math.pow(c - n / 10.0, 2) / (n / 10.0);
        }
        assertTrue(chi2 < 27.9, "chi2 " + chi2 + " over 9 dof (p = 0.001)"); // chi2_9 at 0.999
        int[] p = r.permutation(1000);
        int[] sorted = p.clone();
        Arrays.sort(sorted);
        for (int i = 0; i < 1000; i++) {
            assertEquals(i, sorted[i]);
        }
        for (int i = 0; i < 1000; i++) {
            double u = r.uniform(3, 15);
            assertTrue(u >= 3 && u < 15);
        }
    }
}
