package io.lcmlora.eval;

import io.lcmlora.io.DType;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.io.SafeTensorsWriter;
import io.lcmlora.io.TensorInfo;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Streaming float64 mean and covariance of feature vectors: batches are merged with Chan et al.'s pairwise
 * update (mean and co-moment about the mean), so no feature is kept and the result does not suffer from the
 * cancellation of a sum/sum-of-squares formula. {@link #covariance()} is unbiased (N-1), as {@code np.cov}.
 *
 * <p>Stats file (safetensors): {@code mu} F64 [D], {@code sigma} F64 [D, D], {@code num_samples} I64 [];
 * metadata {@code format=lcm-fid-stats}, {@code num_samples}, {@code dims}, {@code extractor} (the
 * {@link FeatureExtractor#describe()} line). A loaded file can be extended with more samples.
 */
public final class FeatureStats {
    public static final String FORMAT = "lcm-fid-stats";

    private final int dim;
    private final String extractor;
    private long count;
    private final double[] mean;
    /** Co-moment sum (x - mean)(x - mean)^T; only the upper triangle (j >= i) is maintained. */
    private final double[][] comoment;

    public FeatureStats(int dim, String extractor) {
        if (dim < 1) {
            throw new IllegalArgumentException("feature dimension must be positive, got " + dim);
        }
        this.dim = dim;
        this.extractor = extractor == null ? "" : extractor;
        this.mean = new double[dim];
        this.comoment = new double[dim][dim];
    }

    /** Statistics of features computed by {@code extractor}, labelled with its description. */
    public static FeatureStats of(FeatureExtractor extractor) {
        return new FeatureStats(extractor.dim(), extractor.describe());
    }

    public int dim() {
        return dim;
    }

    public long count() {
        return count;
    }

    /** What produced the features (empty when unknown). */
    public String extractor() {
        return extractor;
    }

    /** Adds one batch of feature rows (each of length {@link #dim()}). */
    public void add(double[][] rows) {
        int nb = rows.length;
        if (nb == 0) {
            return;
        }
        double[] bMean = new double[dim];
        for (double[] r : rows) {
            if (r.length != dim) {
                throw new IllegalArgumentException("feature row has " + r.length + " values, expected " + dim);
            }
            for (int j = 0; j < dim; j++) {
                bMean[j] += r[j];
            }
        }
        for (int j = 0; j < dim; j++) {
            bMean[j] /= nb;
        }
        // the batch's own co-moment, added straight into the running one
        double[] c = new double[dim];
        for (double[] r : rows) {
            for (int j = 0; j < dim; j++) {
                c[j] = r[j] - bMean[j];
            }
            for (int i = 0; i < dim; i++) {
                double ci = c[i];
                double[] row = comoment[i];
                for (int j = i; j < dim; j++) {
                    row[j] += ci * c[j];
                }
            }
        }
        long na = count;
        long n = na + nb;
        double w = (double) na * nb / n;
        double[] delta = new double[dim];
        for (int j = 0; j < dim; j++) {
            delta[j] = bMean[j] - mean[j];
        }
        if (na > 0) {
            for (int i = 0; i < dim; i++) {
                double di = delta[i] * w;
                double[] row = comoment[i];
                for (int j = i; j < dim; j++) {
                    row[j] += di * delta[j];
                }
            }
        }
        for (int j = 0; j < dim; j++) {
            mean[j] += delta[j] * nb / n;
        }
        count = n;
    }

    /** Adds feature rows given as float32 [N, D] row-major values. */
    public void add(float[] rowMajor, int n) {
        if (rowMajor.length != (long) n * dim) {
            throw new IllegalArgumentException(rowMajor.length + " values are not " + n + " rows of " + dim);
        }
        double[][] rows = new double[n][dim];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < dim; j++) {
                rows[i][j] = rowMajor[i * dim + j];
            }
        }
        add(rows);
    }

    public double[] mean() {
        return mean.clone();
    }

    /** The unbiased covariance (divides by N-1, as {@code np.cov}); needs at least two samples. */
    public double[][] covariance() {
        if (count < 2) {
            throw new IllegalStateException("a covariance needs at least 2 samples, have " + count);
        }
        double[][] s = new double[dim][dim];
        for (int i = 0; i < dim; i++) {
            for (int j = i; j < dim; j++) {
                double v = comoment[i][j] / (count - 1);
                s[i][j] = v;
                s[j][i] = v;
            }
        }
        return s;
    }

    /** Writes the stats file atomically. */
    public void save(Path file) throws IOException {
        save(file, Map.of());
    }

    /**
     * Writes the stats file atomically with extra metadata entries (e.g. a cache key naming the inputs); the
     * standard entries ({@code format}, {@code num_samples}, {@code dims}, {@code extractor}) cannot be overridden.
     */
    public void save(Path file, Map<String, String> extraMetadata) throws IOException {
        double[][] sigma = covariance();
        double[] flat = new double[dim * dim];
        for (int i = 0; i < dim; i++) {
            System.arraycopy(sigma[i], 0, flat, i * dim, dim);
        }
        Map<String, String> meta = new LinkedHashMap<>(extraMetadata);
        meta.put("format", FORMAT);
        meta.put("num_samples", Long.toString(count));
        meta.put("dims", Integer.toString(dim));
        meta.put("extractor", extractor);
        new SafeTensorsWriter().metadata(meta)
                .addDoubles("mu", new long[] {dim}, mean)
                .addDoubles("sigma", new long[] {dim, dim}, flat)
                .addLongs("num_samples", new long[0], new long[] {count})
                .write(file);
    }

    /** Reads a stats file written by {@link #save}; errors name the file and the offending entry. */
    public static FeatureStats load(Path file) throws IOException {
        try (SafeTensorsFile st = SafeTensorsFile.open(file)) {
            for (String name : new String[] {"mu", "sigma", "num_samples"}) {
                if (!st.contains(name)) {
                    throw new IOException(file + ": not a FID stats file: no tensor '" + name
                            + "' (expected mu F64 [D], sigma F64 [D, D], num_samples I64 [])");
                }
            }
            TensorInfo mu = st.info("mu");
            TensorInfo sigma = st.info("sigma");
            if (mu.shape().length != 1) {
                throw new IOException(file + ": 'mu' has shape " + Arrays.toString(mu.shape()) + ", expected [D]");
            }
            int d = Math.toIntExact(mu.shape()[0]);
            if (!Arrays.equals(sigma.shape(), new long[] {d, d})) {
                throw new IOException(file + ": 'sigma' has shape " + Arrays.toString(sigma.shape()) + ", expected ["
                        + d + ", " + d + "] to match 'mu'");
            }
            if (mu.dtype() != DType.F64 || sigma.dtype() != DType.F64) {
                throw new IOException(file + ": 'mu' and 'sigma' must be F64, got " + mu.dtype() + " and " + sigma.dtype());
            }
            long[] n = st.longs("num_samples");
            if (n.length != 1 || n[0] < 2) {
                throw new IOException(file + ": 'num_samples' must be one count >= 2, got " + Arrays.toString(n));
            }
            FeatureStats s = new FeatureStats(d, st.metadata().getOrDefault("extractor", ""));
            double[] m = st.doubles("mu");
            double[] flat = st.doubles("sigma");
            System.arraycopy(m, 0, s.mean, 0, d);
            for (int i = 0; i < d; i++) {
                for (int j = i; j < d; j++) {
                    s.comoment[i][j] = flat[i * d + j] * (n[0] - 1);
                }
            }
            s.count = n[0];
            return s;
        }
    }
}
