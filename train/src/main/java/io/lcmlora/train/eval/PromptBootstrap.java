package io.lcmlora.train.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The bootstrap over prompts behind every interval of a sweep: a resample draws {@code P} prompts from the
 * {@code P} held-out prompts with replacement, and each drawn prompt brings all its images (generated and
 * reference), so a prompt drawn k times counts its images k times. Every setting is measured on the same
 * resamples (paired), which is what makes ratios of two settings' FIDs meaningful replicate by replicate.
 */
public final class PromptBootstrap {
    private PromptBootstrap() {}

    /** A central percentile interval of replicates. */
    public record Interval(double low, double high) {
        public Interval {
            if (!(low <= high)) {
                throw new IllegalArgumentException("interval [" + low + ", " + high + "] is empty or not a number");
            }
        }

        public boolean contains(double v) {
            return v >= low && v <= high;
        }
    }

    /**
     * {@code counts[b][p]}: how often prompt p is drawn in resample b; each row sums to {@code prompts}. Seeded, so
     * the same (prompts, resamples, seed) give the same draws.
     */
    public static int[][] resamples(int prompts, int resamples, long seed) {
        if (prompts < 1 || resamples < 0) {
            throw new IllegalArgumentException("cannot draw " + resamples + " resamples of " + prompts + " prompts");
        }
        SplittableRandom rng = new SplittableRandom(seed);
        int[][] out = new int[resamples][prompts];
        for (int b = 0; b < resamples; b++) {
            for (int k = 0; k < prompts; k++) {
                out[b][rng.nextInt(prompts)]++;
            }
        }
        return out;
    }

    /** The {@code q}-quantile of sorted values, linearly interpolated (numpy's default, "type 7"). */
    public static double quantile(double[] sorted, double q) {
        if (sorted.length == 0 || !(q >= 0 && q <= 1)) {
            throw new IllegalArgumentException("quantile " + q + " of " + sorted.length + " values");
        }
        double h = (sorted.length - 1) * q;
        int lo = (int) Math.floor(h);
        int hi = Math.min(lo + 1, sorted.length - 1);
        return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
    }

    /** The central {@code level} percentile interval of replicates: quantiles (1 - level)/2 and (1 + level)/2. */
    public static Interval percentile(double[] replicates, double level) {
        double[] s = replicates.clone();
        Arrays.sort(s);
        return new Interval(quantile(s, (1 - level) / 2), quantile(s, (1 + level) / 2));
    }

    /**
     * The interval every report uses: the replicates' central {@code level} spread around their own median, placed
     * around the full-sample {@code estimate}, i.e. {@code [estimate + q_lo - q_50, estimate + q_hi - q_50]}. A
     * resample repeats prompts, so it has less diversity than the sample and its FID is biased upwards (by 40 % at
     * 64 prompts in the demo); the plain percentile interval then lies wholly above the estimate it should
     * bracket. Shifting by the bootstrap's own median bias keeps the spread and always contains the estimate; for
     * unbiased statistics (means, where {@code q_50} is the estimate) it is the percentile interval.
     */
    public static Interval centred(double estimate, double[] replicates, double level) {
        if (!Double.isFinite(estimate)) {
            throw new IllegalArgumentException("interval around a non-finite estimate " + estimate);
        }
        double[] s = replicates.clone();
        Arrays.sort(s);
        double median = quantile(s, 0.5);
        return new Interval(estimate + quantile(s, (1 - level) / 2) - median,
                estimate + quantile(s, (1 + level) / 2) - median);
    }

    /** Per-image weights of a resample: the draw count of each image's prompt. */
    public static double[] imageWeights(int[] groups, int[] counts) {
        double[] w = new double[groups.length];
        for (int i = 0; i < groups.length; i++) {
            w[i] = counts[groups[i]];
        }
        return w;
    }

    /** The weighted mean of values (weights: draw counts); NaN when every weight is 0. */
    public static double weightedMean(double[] values, double[] weights) {
        double s = 0;
        double n = 0;
        for (int i = 0; i < values.length; i++) {
            s += weights[i] * values[i];
            n += weights[i];
        }
        return s / n;
    }

    /** Mean and covariance (divided by n - 1) of a resample, as if each row were repeated by its weight. */
    public record Moments(double[] mean, double[][] covariance, double count) {}

    /**
     * The moments of the rows repeated by their integer weights, computed without materialising the copies:
     * {@code C = (Xc^T diag(w) Xc - n m m^T) / (n - 1)} with {@code Xc} the rows centred on their plain mean and
     * {@code m} the weighted mean of {@code Xc} (float64 matrix products in the engine).
     */
    public static Moments moments(double[][] rows, double[] weights) {
        int n = rows.length;
        if (n == 0 || weights.length != n) {
            throw new IllegalArgumentException(n + " rows and " + weights.length + " weights");
        }
        int d = rows[0].length;
        double[] center = new double[d];
        for (double[] r : rows) {
            for (int j = 0; j < d; j++) {
                center[j] += r[j] / n;
            }
        }
        double total = 0;
        double[] m = new double[d];
        double[] xc = new double[n * d];
        double[] wxc = new double[n * d];
        for (int i = 0; i < n; i++) {
            total += weights[i];
            for (int j = 0; j < d; j++) {
                double v = rows[i][j] - center[j];
                xc[i * d + j] = v;
                wxc[i * d + j] = weights[i] * v;
                m[j] += weights[i] * v;
            }
        }
        if (!(total > 1)) {
            throw new IllegalArgumentException("a resample needs more than one weighted row, has " + total);
        }
        for (int j = 0; j < d; j++) {
            m[j] /= total;
        }
        double[] g;
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray a = manager.create(xc, new Shape(n, d));
            NDArray b = manager.create(wxc, new Shape(n, d));
            g = a.transpose().matMul(b).toDoubleArray(); // [D, N] x [N, D] -> [D, D]
        }
        double[][] cov = new double[d][d];
        double[] mean = new double[d];
        for (int i = 0; i < d; i++) {
            mean[i] = center[i] + m[i];
            for (int j = 0; j < d; j++) {
                cov[i][j] = (g[i * d + j] - total * m[i] * m[j]) / (total - 1);
            }
        }
        return new Moments(mean, cov, total);
    }
}
