package io.lcmlora.train.eval;

import ai.djl.ndarray.NDArray;
import io.lcmlora.eval.FeatureExtractor;
import java.util.SplittableRandom;

/**
 * A fast deterministic test extractor: each image is averaged down to 4x4 per channel (48 values in [0, 1]) and
 * projected by a fixed seeded Gaussian matrix to {@code dim} features.
 */
final class ProjectionExtractor implements FeatureExtractor {
    static final int POOL = 4;
    private final int dim;
    private final double[][] proj;

    ProjectionExtractor(int dim) {
        this.dim = dim;
        SplittableRandom r = new SplittableRandom(1234);
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
        return "test projection of 4x4 means (" + dim + "-d)";
    }

    @Override
    public double[][] features(NDArray imagesU8) {
        long[] s = imagesU8.getShape().getShape();
        int n = (int) s[0];
        int h = (int) s[2];
        int w = (int) s[3];
        byte[] px = imagesU8.toByteArray();
        double[][] out = new double[n][dim];
        for (int i = 0; i < n; i++) {
            double[] pooled = new double[3 * POOL * POOL];
            for (int c = 0; c < 3; c++) {
                for (int y = 0; y < h; y++) {
                    for (int x = 0; x < w; x++) {
                        int cell = c * POOL * POOL + (y * POOL / h) * POOL + x * POOL / w;
                        pooled[cell] += (px[((i * 3 + c) * h + y) * w + x] & 0xFF) / 255.0;
                    }
                }
            }
            double per = (double) h * w / (POOL * POOL);
            for (int d = 0; d < dim; d++) {
                double v = 0;
                for (int j = 0; j < pooled.length; j++) {
                    v += proj[d][j] * pooled[j] / per;
                }
                out[i][d] = v;
            }
        }
        return out;
    }

    @Override
    public void close() {}
}
