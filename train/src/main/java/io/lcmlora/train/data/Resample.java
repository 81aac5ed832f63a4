package io.lcmlora.train.data;

import io.lcmlora.train.config.DataConfig.Interpolation;

/**
 * Separable image resampling with the filter support widened by the scale factor when shrinking (an area-aware,
 * anti-aliased resize, as PIL's {@code Image.resize} that torchvision uses for PIL images): bilinear = triangle
 * filter, bicubic = Keys cubic with a = -0.5. Works on planar float channels; values are not rounded in between.
 */
final class Resample {
    private Resample() {}

    /** Channel {@code c} of pixel {@code i = y * w + x} of a source image, 0..255. */
    interface Pixels {
        float get(int c, int i);
    }

    /** Resizes planar channels [c][h*w] to [c][newH*newW]. */
    static float[][] resize(float[][] planes, int w, int h, int newW, int newH, Interpolation filter) {
        return window((c, i) -> planes[c][i], planes.length, w, h, newW, newH, 0, 0, newW, newH, filter);
    }

    /**
     * The window [top, top + ch) x [left, left + cw) of the source resized to newW x newH, as planar channels
     * [c][ch*cw], without computing the rest of the resized image: only the window's weight rows are built, and the
     * two passes run in the order whose intermediate is smaller ({@code h x cw} or {@code ch x w} per channel), so a
     * 1 x 100000 strip cover-resized to 1024 px allocates about what the output needs.
     */
    static float[][] window(Pixels src, int channels, int w, int h, int newW, int newH, int left, int top, int cw, int ch,
            Interpolation filter) {
        if (left < 0 || top < 0 || cw < 1 || ch < 1 || left + cw > newW || top + ch > newH) {
            throw new IllegalArgumentException("window " + cw + "x" + ch + " at (" + left + ", " + top + ") is outside "
                    + newW + "x" + newH);
        }
        Weights wx = weights(w, newW, filter, left, cw);
        Weights wy = weights(h, newH, filter, top, ch);
        boolean horizontalFirst = horizontalFirst(w, h, cw, ch);
        float[][] out = new float[channels][];
        for (int c = 0; c < channels; c++) {
            float[] dst = new float[ch * cw]; // [ch, cw]
            if (horizontalFirst) {
                float[] tmp = new float[h * cw]; // horizontal pass: [h, cw]
                for (int y = 0; y < h; y++) {
                    int row = y * w;
                    for (int x = 0; x < cw; x++) {
                        double s = 0;
                        int start = wx.start[x];
                        double[] k = wx.k[x];
                        for (int i = 0; i < k.length; i++) {
                            s += k[i] * src.get(c, row + start + i);
                        }
                        tmp[y * cw + x] = (float) s;
                    }
                }
                for (int y = 0; y < ch; y++) { // vertical pass: [ch, cw]
                    int start = wy.start[y];
                    double[] k = wy.k[y];
                    for (int x = 0; x < cw; x++) {
                        double s = 0;
                        for (int i = 0; i < k.length; i++) {
                            s += k[i] * tmp[(start + i) * cw + x];
                        }
                        dst[y * cw + x] = (float) s;
                    }
                }
            } else {
                float[] tmp = new float[ch * w]; // vertical pass: [ch, w]
                for (int y = 0; y < ch; y++) {
                    int start = wy.start[y];
                    double[] k = wy.k[y];
                    for (int x = 0; x < w; x++) {
                        double s = 0;
                        for (int i = 0; i < k.length; i++) {
                            s += k[i] * src.get(c, (start + i) * w + x);
                        }
                        tmp[y * w + x] = (float) s;
                    }
                }
                for (int y = 0; y < ch; y++) { // horizontal pass: [ch, cw]
                    int row = y * w;
                    for (int x = 0; x < cw; x++) {
                        double s = 0;
                        int start = wx.start[x];
                        double[] k = wx.k[x];
                        for (int i = 0; i < k.length; i++) {
                            s += k[i] * tmp[row + start + i];
                        }
                        dst[y * cw + x] = (float) s;
                    }
                }
            }
            out[c] = dst;
        }
        return out;
    }

    /** Horizontal pass first unless its intermediate (h x cw) is larger than the vertical-first one (ch x w). */
    static boolean horizontalFirst(int w, int h, int cw, int ch) {
        return (long) h * cw <= (long) ch * w;
    }

    /**
     * Bytes that {@link #window} allocates for these sizes, computed from the sizes alone: the weight rows of both
     * axes, one intermediate and the output of every channel.
     */
    static long windowBytes(int channels, int w, int h, int newW, int newH, int cw, int ch, Interpolation filter) {
        long weights = (long) cw * (taps(w, newW, filter) * 8L + 40) + (long) ch * (taps(h, newH, filter) * 8L + 40);
        long tmp = horizontalFirst(w, h, cw, ch) ? (long) h * cw : (long) ch * w;
        return weights + 4L * channels * (tmp + (long) ch * cw);
    }

    /** Upper bound on the weights per output index for resizing {@code in} to {@code out}. */
    static long taps(int in, int out, Interpolation filter) {
        double radius = support(filter) * Math.max((double) in / out, 1.0);
        return Math.min(in, (long) Math.ceil(2 * radius) + 2);
    }

    /** Per output index: the first input index and the normalized weights. */
    record Weights(int[] start, double[][] k) {}

    static Weights weights(int in, int out, Interpolation filter) {
        return weights(in, out, filter, 0, out);
    }

    /** The weights of output indices [from, from + count) of resizing {@code in} to {@code out}. */
    static Weights weights(int in, int out, Interpolation filter, int from, int count) {
        double scale = (double) in / out;
        double filterScale = Math.max(scale, 1.0);
        double radius = support(filter) * filterScale;
        int[] start = new int[count];
        double[][] k = new double[count][];
        for (int j = 0; j < count; j++) {
            int o = from + j;
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
            start[j] = lo;
            k[j] = w;
        }
        return new Weights(start, k);
    }

    static double support(Interpolation filter) {
        return switch (filter) {
            case BILINEAR -> 1.0;
            case BICUBIC -> 2.0;
        };
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
