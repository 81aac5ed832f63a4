package io.lcmlora.train.data;

import io.lcmlora.train.config.DataConfig.Interpolation;

/**
 * Separable image resampling with the filter support widened by the scale factor when shrinking (an area-aware,
 * anti-aliased resize, as PIL's {@code Image.resize} that torchvision uses for PIL images): bilinear = triangle
 * filter, bicubic = Keys cubic with a = -0.5. Works on planar float channels; values are not rounded in between.
 */
final class Resample {
    private Resample() {}

    /** Resizes planar channels [c][h*w] to [c][newH*newW]. */
    static float[][] resize(float[][] planes, int w, int h, int newW, int newH, Interpolation filter) {
        float[][] out = new float[planes.length][];
        Weights wx = weights(w, newW, filter);
        Weights wy = weights(h, newH, filter);
        for (int c = 0; c < planes.length; c++) {
            float[] src = planes[c];
            float[] tmp = new float[h * newW]; // horizontal pass: [h, newW]
            for (int y = 0; y < h; y++) {
                int row = y * w;
                for (int x = 0; x < newW; x++) {
                    double s = 0;
                    int start = wx.start[x];
                    double[] k = wx.k[x];
                    for (int i = 0; i < k.length; i++) {
                        s += k[i] * src[row + start + i];
                    }
                    tmp[y * newW + x] = (float) s;
                }
            }
            float[] dst = new float[newH * newW]; // vertical pass: [newH, newW]
            for (int y = 0; y < newH; y++) {
                int start = wy.start[y];
                double[] k = wy.k[y];
                for (int x = 0; x < newW; x++) {
                    double s = 0;
                    for (int i = 0; i < k.length; i++) {
                        s += k[i] * tmp[(start + i) * newW + x];
                    }
                    dst[y * newW + x] = (float) s;
                }
            }
            out[c] = dst;
        }
        return out;
    }

    /** Per output index: the first input index and the normalized weights. */
    record Weights(int[] start, double[][] k) {}

    static Weights weights(int in, int out, Interpolation filter) {
        double support = filter == Interpolation.BILINEAR ? 1.0 : 2.0;
        double scale = (double) in / out;
        double filterScale = Math.max(scale, 1.0);
        double radius = support * filterScale;
        int[] start = new int[out];
        double[][] k = new double[out][];
        for (int o = 0; o < out; o++) {
            double center = (o + 0.5) * scale;
            int lo = Math.max((int) (center - radius + 0.5), 0);
            int hi = Math.min((int) (center + radius + 0.5), in);
            double[] w = new double[Math.max(hi - lo, 1)];
            double total = 0;
            for (int i = 0; i < hi - lo; i++) {
                w[i] = kernel((i + lo - center + 0.5) / filterScale, filter);
                total += w[i];
            }
            if (total == 0) {
                w = new double[] {1.0};
                lo = Math.min((int) center, in - 1);
            } else {
                for (int i = 0; i < w.length; i++) {
                    w[i] /= total;
                }
            }
            start[o] = lo;
            k[o] = w;
        }
        return new Weights(start, k);
    }

    static double kernel(double x, Interpolation filter) {
        double a = Math.abs(x);
        return switch (filter) {
            case BILINEAR -> a < 1 ? 1 - a : 0;
            case BICUBIC -> {
                double c = -0.5;
                if (a < 1) {
                    yield ((c + 2) * a - (c + 3)) * a * a + 1;
                } else if (a < 2) {
                    yield (((a - 5) * a + 8) * a - 4) * c;
                }
                yield 0;
            }
        };
    }
}
