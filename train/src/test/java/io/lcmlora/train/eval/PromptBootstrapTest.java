package io.lcmlora.train.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.lcmlora.eval.FeatureStats;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The bootstrap over prompts against closed forms and exhaustive enumeration. */
class PromptBootstrapTest {
    @Test
    void drawsArePromptMultisetsAndSeeded() {
        int[][] a = PromptBootstrap.resamples(7, 5000, 42);
        assertArrayEquals(a[17], PromptBootstrap.resamples(7, 5000, 42)[17]);
        double[] mean = new double[7];
        for (int[] row : a) {
            int sum = 0;
            for (int p = 0; p < 7; p++) {
                sum += row[p];
                mean[p] += row[p] / 5000.0;
            }
            assertEquals(7, sum);
        }
        // each prompt is drawn Binomial(7, 1/7) times: mean 1, sd of the mean over 5000 draws ~ 0.013
        for (double m : mean) {
            assertEquals(1.0, m, 0.06);
        }
    }

    @Test
    void quantilesAreNumpyLinear() {
        double[] s = {1, 2, 3, 4};
        assertEquals(1.15, PromptBootstrap.quantile(s, 0.05), 1e-12); // numpy.quantile([1,2,3,4], 0.05)
        assertEquals(3.85, PromptBootstrap.quantile(s, 0.95), 1e-12);
        assertEquals(2.5, PromptBootstrap.quantile(s, 0.5), 1e-12);
        assertEquals(4.0, PromptBootstrap.quantile(s, 1.0), 0.0);
        PromptBootstrap.Interval i = PromptBootstrap.percentile(new double[] {4, 1, 3, 2}, 0.9);
        assertEquals(1.15, i.low(), 1e-12);
        assertEquals(3.85, i.high(), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> PromptBootstrap.quantile(new double[0], 0.5));
    }

    /**
     * The reported interval is the replicates' spread around their median placed around the estimate: closed form on
     * five replicates biased upwards by 4 (as a resample's FID is), where the plain percentile interval would miss
     * the estimate entirely.
     */
    @Test
    void centredIntervalShiftsTheSpreadOntoTheEstimate() {
        double[] reps = {13, 11, 15, 12, 14}; // median 13; numpy quantiles 0.05 / 0.95: 11.2 / 14.8
        PromptBootstrap.Interval plain = PromptBootstrap.percentile(reps, 0.9);
        assertFalse(plain.contains(9.0));
        PromptBootstrap.Interval c = PromptBootstrap.centred(9.0, reps, 0.9);
        assertEquals(9.0 + 11.2 - 13, c.low(), 1e-12);
        assertEquals(9.0 + 14.8 - 13, c.high(), 1e-12);
        assertTrue(c.contains(9.0));
        // unbiased replicates (median == estimate): the percentile interval itself
        PromptBootstrap.Interval u = PromptBootstrap.centred(13.0, reps, 0.9);
        assertEquals(plain.low(), u.low(), 1e-12);
        assertEquals(plain.high(), u.high(), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> PromptBootstrap.centred(Double.NaN, reps, 0.9));
    }

    /** Weighted moments equal those of the rows really repeated (FeatureStats of the copies). */
    @Test
    void momentsEqualTheRepeatedRows() {
        Random r = new Random(3);
        int n = 12;
        int d = 5;
        double[][] rows = new double[n][d];
        int[] groups = new int[n];
        for (int i = 0; i < n; i++) {
            groups[i] = i / 3; // 4 prompts of 3 images
            for (int j = 0; j < d; j++) {
                rows[i][j] = 10 + r.nextGaussian() * (j + 1);
            }
        }
        int[] counts = {2, 0, 1, 1};
        PromptBootstrap.Moments m = PromptBootstrap.moments(rows, PromptBootstrap.imageWeights(groups, counts));
        List<double[]> copies = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < counts[groups[i]]; k++) {
                copies.add(rows[i]);
            }
        }
        FeatureStats brute = new FeatureStats(d, "test");
        brute.add(copies.toArray(double[][]::new));
        assertEquals(12.0, m.count());
        assertArrayEquals(brute.mean(), m.mean(), 1e-12);
        for (int i = 0; i < d; i++) {
            assertArrayEquals(brute.covariance()[i], m.covariance()[i], 1e-10);
        }
    }

    /**
     * Three prompts with one value each, statistic = the mean: the exact bootstrap distribution has 3^3 = 27 equally
     * likely ordered draws; the sampled one matches it atom by atom, and its variance is the closed form
     * {@code sigma_plugin^2 / n}.
     */
    @Test
    void bootstrapOfAMeanMatchesExhaustiveEnumeration() {
        double[] x = {1, 4, 10};
        int[] groups = {0, 1, 2};
        Map<Double, Double> exact = new HashMap<>();
        for (int a = 0; a < 3; a++) {
            for (int b = 0; b < 3; b++) {
                for (int c = 0; c < 3; c++) {
                    double m = Math.rint((x[a] + x[b] + x[c]) / 3 * 1e9) / 1e9;
                    exact.merge(m, 1 / 27.0, Double::sum);
                }
            }
        }
        int resamples = 40_000;
        int[][] draws = PromptBootstrap.resamples(3, resamples, 7);
        Map<Double, Double> sampled = new HashMap<>();
        double[] reps = new double[resamples];
        for (int k = 0; k < resamples; k++) {
            double m = PromptBootstrap.weightedMean(x, PromptBootstrap.imageWeights(groups, draws[k]));
            reps[k] = m;
            sampled.merge(Math.rint(m * 1e9) / 1e9, 1.0 / resamples, Double::sum);
        }
        assertEquals(exact.keySet(), sampled.keySet());
        for (Map.Entry<Double, Double> e : exact.entrySet()) {
            assertEquals(e.getValue(), sampled.get(e.getKey()), 0.01, "P(mean = " + e.getKey() + ")");
        }
        double mu = 5;
        double plugin = ((1 - mu) * (1 - mu) + (4 - mu) * (4 - mu) + (10 - mu) * (10 - mu)) / 3; // 14
        double mean = 0;
        for (double v : reps) {
            mean += v / resamples;
        }
        double var = 0;
        for (double v : reps) {
            var += (v - mean) * (v - mean) / resamples;
        }
        assertEquals(plugin / 3, var, 0.05 * plugin / 3);
        // the exact 90% interval: the sorted 27 means' 5th/95th percentiles
        double[] all = new double[27];
        int i = 0;
        for (int a = 0; a < 3; a++) {
            for (int b = 0; b < 3; b++) {
                for (int c = 0; c < 3; c++) {
                    all[i++] = (x[a] + x[b] + x[c]) / 3;
                }
            }
        }
        PromptBootstrap.Interval want = PromptBootstrap.percentile(all, 0.9);
        PromptBootstrap.Interval got = PromptBootstrap.percentile(reps, 0.9);
        assertEquals(want.low(), got.low(), 0.5);
        assertEquals(want.high(), got.high(), 0.5);
    }
}
