package io.lcmlora.pipeline;

import java.awt.image.BufferedImage;
import java.util.Arrays;

/** Test helper: how far two 8-bit RGB images of one size are apart, per channel value. */
public final class ImageLevels {
    private ImageLevels() {}

    private static int[] pixels(BufferedImage img) {
        return img.getRGB(0, 0, img.getWidth(), img.getHeight(), null, 0, img.getWidth());
    }

    /** How many 8-bit channel values of {@code a} and {@code b} differ by each level 0..255. */
    public static int[] levelDiffCounts(BufferedImage a, BufferedImage b) {
        int[] x = pixels(a);
        int[] y = pixels(b);
        int[] counts = new int[256];
        for (int i = 0; i < x.length; i++) {
            for (int s = 0; s < 24; s += 8) {
                counts[Math.abs(((x[i] >> s) & 0xFF) - ((y[i] >> s) & 0xFF))]++;
            }
        }
        return counts;
    }

    public static int maxLevelDiff(BufferedImage a, BufferedImage b) {
        int[] counts = levelDiffCounts(a, b);
        int max = 255;
        while (max > 0 && counts[max] == 0) {
            max--;
        }
        return max;
    }

    /** How many 8-bit channel values of {@code a} and {@code b} differ. */
    public static int differingLevels(BufferedImage a, BufferedImage b) {
        int[] counts = levelDiffCounts(a, b);
        return Arrays.stream(counts).sum() - counts[0];
    }
}
