package io.lcmlora.train.eval;

import java.awt.image.BufferedImage;
import java.util.List;
import java.util.Objects;

/**
 * The colour-fidelity score the FID and alignment columns cannot give: how far a generated image's colours are from
 * those of its own prompt's reference image(s) (for the emoji demo, the held-out image of that emoji by the style's
 * vendor). FID compares the whole set, and alignment only asks for the right category, so a flag prompt answered with
 * a red blob passes both.
 * <ol>
 *   <li>Each pixel is converted from sRGB to CIELAB (D65), where distances roughly follow perceived colour
 *       differences.</li>
 *   <li>Near-white pixels (every sRGB channel &gt;= {@value #WHITE}) are background and not counted: the emoji are
 *       composited on white, and counting the background would reward an empty image.</li>
 *   <li>The others fall into a joint histogram of {@code bins} equal bins per channel: L* over [0, 100], a* and b* over
 *       [-128, 128] (an odd count puts the neutral greys in the middle of a bin, not on an edge).</li>
 *   <li>The score is the total variation distance between the image's and the reference's normalised histograms,
 *       {@code 0.5 * sum |p - q|}: 0 for the same colour proportions, 1 for disjoint colours. An image with no
 *       counted pixel against a reference with some scores 1; two such images score 0.</li>
 * </ol>
 * Lower is better. Several reference images of one prompt are pooled into one histogram (pixel counts added).
 */
public final class ColourFidelity {
    /** A pixel whose R, G and B are all at least this is white background. */
    public static final int WHITE = 240;
    /** The bins per channel the {@code colour_bins} default gives. */
    public static final int DEFAULT_BINS = 5;
    static final double A_B_RANGE = 128;

    private final int bins;

    public ColourFidelity(int bins) {
        if (bins < 2 || bins > 16) {
            throw new IllegalArgumentException("colour histogram bins per channel must be in [2, 16], got " + bins);
        }
        this.bins = bins;
    }

    public int bins() {
        return bins;
    }

    /** A short description for results.md/json. */
    public String describe() {
        return "colour distance to the prompt's own reference image(s): total variation between CIELAB histograms ("
                + bins + " bins per channel, L* [0, 100], a*/b* [-128, 128]; pixels with R, G, B >= " + WHITE
                + " excluded as background), 0 = same colours, 1 = disjoint (mean over images; lower is better)";
    }

    /** CIELAB (D65 white, sRGB primaries) of an sRGB {@code 0xRRGGBB} pixel: {L*, a*, b*}. */
    static double[] lab(int rgb) {
        double r = linear((rgb >> 16) & 0xff);
        double g = linear((rgb >> 8) & 0xff);
        double b = linear(rgb & 0xff);
        // 1. linear sRGB -> XYZ, normalised by the D65 white
        double x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047;
        double y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b;
        double z = (0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / 1.08883;
        // 2. XYZ -> L*a*b*
        double fx = f(x);
        double fy = f(y);
        double fz = f(z);
        return new double[] {116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)};
    }

    private static double linear(int c) {
        double v = c / 255.0;
        return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    }

    private static double f(double t) {
        double d = 6.0 / 29;
        return t > d * d * d ? Math.cbrt(t) : t / (3 * d * d) + 4.0 / 29;
    }

    /** The joint bin of a pixel ({@code (l * bins + a) * bins + b}), or -1 for white background. */
    int bin(int rgb) {
        if (((rgb >> 16) & 0xff) >= WHITE && ((rgb >> 8) & 0xff) >= WHITE && (rgb & 0xff) >= WHITE) {
            return -1;
        }
        double[] lab = lab(rgb);
        int l = index(lab[0] / 100);
        int a = index((lab[1] + A_B_RANGE) / (2 * A_B_RANGE));
        int b = index((lab[2] + A_B_RANGE) / (2 * A_B_RANGE));
        return (l * bins + a) * bins + b;
    }

    private int index(double unit) {
        return Math.max(0, Math.min(bins - 1, (int) Math.floor(unit * bins)));
    }

    /** Adds the image's non-background pixels to {@code counts} ({@code bins^3} long). */
    public long[] add(long[] counts, BufferedImage img) {
        if (counts.length != bins * bins * bins) {
            throw new IllegalArgumentException(counts.length + " counts for " + bins + "^3 bins");
        }
        for (int yy = 0; yy < img.getHeight(); yy++) {
            for (int xx = 0; xx < img.getWidth(); xx++) {
                int k = bin(img.getRGB(xx, yy) & 0xffffff);
                if (k >= 0) {
                    counts[k]++;
                }
            }
        }
        return counts;
    }

    /** The histogram of one image's non-background pixels. */
    public long[] counts(BufferedImage img) {
        return add(new long[bins * bins * bins], img);
    }

    /**
     * Colour diversity across prompts, per image: the mean {@link #distance} from image i's histogram to those of the
     * images of every other prompt with the same label ({@code labels[prompt]}; all other prompts when labels is null
     * or i's label has no other prompt). A prompt answered in the same colours as its neighbours (every flag drawn as
     * one red blob) scores low whatever its own reference looks like; the references' own diversity, computed the same
     * way, is the value to compare with.
     *
     * @param hists one histogram per image
     * @param prompt each image's prompt position
     * @param labels each prompt position's label, or null
     */
    public static double[] diversity(List<long[]> hists, int[] prompt, String[] labels) {
        int n = hists.size();
        if (prompt.length != n) {
            throw new IllegalArgumentException(n + " histograms and " + prompt.length + " prompt positions");
        }
        // 1. each pair once, its distance added to both sides' sums (no n x n matrix: O(n) memory, O(n^2) time)
        double[] sameSum = new double[n];
        int[] same = new int[n];
        double[] allSum = new double[n];
        int[] all = new int[n];
        for (int i = 0; i < n; i++) {
            for (int j = i + 1; j < n; j++) {
                if (prompt[j] == prompt[i]) {
                    continue;
                }
                double d = distance(hists.get(i), hists.get(j));
                allSum[i] += d;
                allSum[j] += d;
                all[i]++;
                all[j]++;
                if (labels != null && Objects.equals(labels[prompt[j]], labels[prompt[i]])) {
                    sameSum[i] += d;
                    sameSum[j] += d;
                    same[i]++;
                    same[j]++;
                }
            }
        }
        // 2. the same-label mean, or the mean over all other prompts for a label of one prompt
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            if (all[i] == 0) {
                throw new IllegalArgumentException("colour diversity needs images of at least two prompts");
            }
            out[i] = same[i] > 0 ? sameSum[i] / same[i] : allSum[i] / all[i];
        }
        return out;
    }

    /** Total variation between the normalised histograms (see the class comment for empty ones). */
    public static double distance(long[] p, long[] q) {
        if (p.length != q.length) {
            throw new IllegalArgumentException("histograms of " + p.length + " and " + q.length + " bins");
        }
        double np = 0;
        double nq = 0;
        for (int i = 0; i < p.length; i++) {
            np += p[i];
            nq += q[i];
        }
        if (np == 0 || nq == 0) {
            return np == nq ? 0 : 1;
        }
        double s = 0;
        for (int i = 0; i < p.length; i++) {
            s += Math.abs(p[i] / np - q[i] / nq);
        }
        return Math.min(1, 0.5 * s);
    }
}
