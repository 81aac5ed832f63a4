package io.lcmlora.train.eval;

import ai.djl.ndarray.NDArray;
import io.lcmlora.eval.FeatureExtractor;
import java.util.SplittableRandom;

/**
 * A smoke-test feature extractor (config {@code features.type: pixels}): each image is averaged down to a 4x4 grid per
 * channel (48 values in [0, 1]) and projected by a fixed Gaussian matrix (seed 1234, entries N(0, 1/48)) to
 * {@code dims} features. Deterministic, weight-free and instant, so a sweep on a tiny model runs end to end on the
 * CPU; it measures colour layout only, so its "FID" is not comparable to any Inception FID.
 */
public final class PixelProjection implements FeatureExtractor {
    static final int POOL = 4;
    static final long SEED = 1234;
    private final int dim;
    private final double[][] proj;

    public PixelProjection(int dim) {
        if (dim < 1) {
            throw new IllegalArgumentException("dims must be positive, got " + dim);
        }
        this.dim = dim;
        SplittableRandom r = new SplittableRandom(SEED);
        proj = new double[dim][3 * POOL * POOL];
        for (double[] row : proj) {
            for (int j = 0; j < row.length; j++) {
                row[j] = r.nextGaussian() / Math.sqrt(row.length);
            }
        }
    }

    @Override
    public int dim() {
        return dim;
    }

    @Override
    public String describe() {
        return "pixel projection (4x4 channel means, Gaussian seed " + SEED + ", " + dim + "-d), no preprocessing";
    }

    @Override
    public double[][] features(NDArray imagesU8) {
        long[] s = imagesU8.getShape().getShape();
        int n = (int) s[0];
        int h = (int) s[2];
        int w = (int) s[3];
        byte[] px = imagesU8.toByteArray();
        double[][] out = new double[n][dim];
        double perCell = (double) h * w / (POOL * POOL);
        for (int i = 0; i < n; i++) {
            // [3, H, W] -> [3 * 4 * 4] cell means
            double[] pooled = new double[3 * POOL * POOL];
            for (int c = 0; c < 3; c++) {
                for (int y = 0; y < h; y++) {
                    for (int x = 0; x < w; x++) {
                        int cell = c * POOL * POOL + (y * POOL / h) * POOL + x * POOL / w;
                        pooled[cell] += (px[((i * 3 + c) * h + y) * w + x] & 0xFF) / 255.0 / perCell;
                    }
                }
            }
            for (int d = 0; d < dim; d++) {
                double v = 0;
                for (int j = 0; j < pooled.length; j++) {
                    v += proj[d][j] * pooled[j];
                }
                out[i][d] = v;
            }
        }
        return out;
    }

    @Override
    public void close() {}
}
