package io.lcmlora.eval;

/**
 * Pillow's {@code Image.resize(size, Image.BICUBIC)} of a 32-bit float ('F' mode) plane, as clean-fid's
 * "clean" resizer calls it per channel: separable convolution (horizontal pass first, then vertical), cubic
 * kernel with a = -0.5 and support 2 widened by the downscale factor (antialiasing), per-pixel weights
 * normalised to sum 1, accumulation in double and float32 storage between and after the passes. A port of
 * {@code precompute_coeffs} and {@code ImagingResample{Horizontal,Vertical}_32bpc} of Pillow's Resample.c.
 * {@link #resizeU8} is the 8-bit path Pillow takes for an RGB image ({@code ImagingResample*_8bpc}): the same
 * weights in 22-bit fixed point, rounding and clamping to uint8 after each pass (what transformers'
 * CLIPImageProcessor runs).
 */
public final class PilBicubic {
    private PilBicubic() {}

    private static final double SUPPORT = 2.0;

    /** Pillow's {@code bicubic_filter} (a = -0.5). */
    static double filter(double x) {
        double a = -0.5;
        x = Math.abs(x);
        if (x < 1.0) {
            return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
        }
        if (x < 2.0) {
            return (((x - 5) * x + 8) * x - 4) * a;
        }
        return 0.0;
    }

    /** Per output position: first input index, tap count and the normalised weights. */
    private record Coeffs(int[] first, int[] count, double[][] weights) {}

    private static Coeffs coeffs(int inSize, int outSize) {
        double scale = (double) inSize / outSize;
        double filterscale = Math.max(scale, 1.0);
        double support = SUPPORT * filterscale;
        int[] first = new int[outSize];
        int[] count = new int[outSize];
        double[][] weights = new double[outSize][];
        for (int xx = 0; xx < outSize; xx++) {
            double center = (xx + 0.5) * scale;
            double ss = 1.0 / filterscale;
            int xmin = Math.max((int) (center - support + 0.5), 0);
            int xmax = Math.min((int) (center + support + 0.5), inSize) - xmin;
            double[] k = new double[Math.max(xmax, 0)];
            double ww = 0.0;
            for (int x = 0; x < xmax; x++) {
                k[x] = filter((x + xmin - center + 0.5) * ss);
                ww += k[x];
            }
            if (ww != 0.0) {
                for (int x = 0; x < xmax; x++) {
                    k[x] /= ww;
                }
            }
            first[xx] = xmin;
            count[xx] = Math.max(xmax, 0);
            weights[xx] = k;
        }
        return new Coeffs(first, count, weights);
    }

    /**
     * Resizes a row-major {@code [inH, inW]} plane to {@code [outH, outW]}. A size that already matches is
     * copied unchanged (Pillow returns a copy then, and skips a pass whose axis keeps its size).
     */
    public static float[] resize(float[] src, int inW, int inH, int outW, int outH) {
        if (src.length != (long) inW * inH) {
            throw new IllegalArgumentException("plane has " + src.length + " values, expected " + inW + "x" + inH);
        }
        if (inW < 1 || inH < 1 || outW < 1 || outH < 1) {
            throw new IllegalArgumentException("sizes must be positive: " + inW + "x" + inH + " -> " + outW + "x" + outH);
        }
        float[] cur = src.clone();
        int curH = inH;
        Coeffs vert = coeffs(inH, outH);
        int rowFirst = 0;
        if (inW != outW) {
            // only the rows the vertical pass reads: [first of row 0, last of row outH-1)
            int yFirst = inH != outH ? vert.first[0] : 0;
            int yLast = inH != outH ? vert.first[outH - 1] + vert.count[outH - 1] : inH;
            Coeffs hor = coeffs(inW, outW);
            float[] tmp = new float[(yLast - yFirst) * outW];
            for (int yy = 0; yy < yLast - yFirst; yy++) {
                int rowBase = (yy + yFirst) * inW;
                for (int xx = 0; xx < outW; xx++) {
                    double[] k = hor.weights[xx];
                    int xmin = hor.first[xx];
                    double ss = 0.0;
                    for (int x = 0; x < hor.count[xx]; x++) {
                        ss += cur[rowBase + x + xmin] * k[x];
                    }
                    tmp[yy * outW + xx] = (float) ss;
                }
            }
            cur = tmp;
            curH = yLast - yFirst;
            rowFirst = yFirst;
        }
        if (inH != outH) {
            float[] out = new float[outH * outW];
            for (int yy = 0; yy < outH; yy++) {
                double[] k = vert.weights[yy];
                int ymin = vert.first[yy] - rowFirst;
                for (int xx = 0; xx < outW; xx++) {
                    double ss = 0.0;
                    for (int y = 0; y < vert.count[yy]; y++) {
                        ss += cur[(y + ymin) * outW + xx] * k[y];
                    }
                    out[yy * outW + xx] = (float) ss;
                }
            }
            cur = out;
        } else if (curH != outH) {
            throw new IllegalStateException("internal: rows " + curH + " != " + outH);
        }
        return cur;
    }

    /** Pillow's fixed-point precision of the 8-bit path ({@code PRECISION_BITS = 32 - 8 - 2}). */
    private static final int PRECISION_BITS = 32 - 8 - 2;

    /** {@code normalize_coeffs_8bpc}: double weights to fixed point, rounded half away from zero. */
    private static int[][] fixedPoint(Coeffs c) {
        int[][] out = new int[c.weights.length][];
        for (int i = 0; i < out.length; i++) {
            double[] k = c.weights[i];
            out[i] = new int[k.length];
            for (int x = 0; x < k.length; x++) {
                double v = k[x] * (1 << PRECISION_BITS);
                out[i][x] = (int) (v < 0 ? -0.5 + v : 0.5 + v);
            }
        }
        return out;
    }

    /** {@code clip8}: the accumulator back to a byte, clamped to [0, 255]. */
    private static int clip8(int ss) {
        return Math.min(Math.max(ss >> PRECISION_BITS, 0), 255);
    }

    /**
     * Pillow's {@code Image.resize(size, Image.BICUBIC)} of one 8-bit channel, row-major {@code [inH, inW]} values
     * 0..255 (as Pillow resizes each band of an RGB image); same pass order and row window as {@link #resize}.
     */
    public static int[] resizeU8(int[] src, int inW, int inH, int outW, int outH) {
        if (src.length != (long) inW * inH) {
            throw new IllegalArgumentException("plane has " + src.length + " values, expected " + inW + "x" + inH);
        }
        if (inW < 1 || inH < 1 || outW < 1 || outH < 1) {
            throw new IllegalArgumentException("sizes must be positive: " + inW + "x" + inH + " -> " + outW + "x" + outH);
        }
        int[] cur = src.clone();
        Coeffs vert = coeffs(inH, outH);
        int rowFirst = 0;
        if (inW != outW) {
            int yFirst = inH != outH ? vert.first[0] : 0;
            int yLast = inH != outH ? vert.first[outH - 1] + vert.count[outH - 1] : inH;
            Coeffs hor = coeffs(inW, outW);
            int[][] k = fixedPoint(hor);
            int[] tmp = new int[(yLast - yFirst) * outW];
            for (int yy = 0; yy < yLast - yFirst; yy++) {
                int rowBase = (yy + yFirst) * inW;
                for (int xx = 0; xx < outW; xx++) {
                    int xmin = hor.first[xx];
                    int ss = 1 << (PRECISION_BITS - 1);
                    for (int x = 0; x < hor.count[xx]; x++) {
                        ss += cur[rowBase + x + xmin] * k[xx][x];
                    }
                    tmp[yy * outW + xx] = clip8(ss);
                }
            }
            cur = tmp;
            rowFirst = yFirst;
        }
        if (inH != outH) {
            int[][] k = fixedPoint(vert);
            int[] out = new int[outH * outW];
            for (int yy = 0; yy < outH; yy++) {
                int ymin = vert.first[yy] - rowFirst;
                for (int xx = 0; xx < outW; xx++) {
                    int ss = 1 << (PRECISION_BITS - 1);
                    for (int y = 0; y < vert.count[yy]; y++) {
                        ss += cur[(y + ymin) * outW + xx] * k[yy][y];
                    }
                    out[yy * outW + xx] = clip8(ss);
                }
            }
            cur = out;
        }
        return cur;
    }
}
