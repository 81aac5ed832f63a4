package io.lcmlora.train.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.awt.image.BufferedImage;
import org.junit.jupiter.api.Test;

/** The colour-fidelity score against closed-form values on synthetic images. */
class ColourFidelityTest {
    static final int RED = 0xff0000;
    static final int BLUE = 0x0000ff;
    static final int ORANGE = 0xffa500;
    static final int WHITE = 0xffffff;

    /** A 32x32 image whose first {@code split} columns are {@code left} and the rest {@code right}. */
    static BufferedImage image(int left, int right, int split) {
        BufferedImage img = new BufferedImage(32, 32, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 32; y++) {
            for (int x = 0; x < 32; x++) {
                img.setRGB(x, y, x < split ? left : right);
            }
        }
        return img;
    }

    static BufferedImage solid(int rgb) {
        return image(rgb, rgb, 32);
    }

    @Test
    void labMatchesTheStandardSrgbValues() {
        // CIELAB (D65) of the sRGB primaries and white, as colour-science tables give them
        assertArrayEquals(new double[] {100, 0, 0}, ColourFidelity.lab(WHITE), 0.01);
        assertArrayEquals(new double[] {53.2408, 80.0925, 67.2032}, ColourFidelity.lab(RED), 0.02);
        assertArrayEquals(new double[] {32.2970, 79.1875, -107.8602}, ColourFidelity.lab(BLUE), 0.02);
        assertArrayEquals(new double[] {0, 0, 0}, ColourFidelity.lab(0x000000), 1e-9);
    }

    @Test
    void binsAreTheJointIndexOfEqualBinsPerChannel() {
        ColourFidelity c = new ColourFidelity(5);
        // mid grey: L* 53.59 -> bin 2 of [0, 100]; a* = b* = 0 -> the middle bin 2 of [-128, 128]
        assertEquals((2 * 5 + 2) * 5 + 2, c.bin(0x808080));
        // red: L* 53.2 -> 2; a* 80.1 -> floor(208.1 / 256 * 5) = 4; b* 67.2 -> floor(195.2 / 256 * 5) = 3
        assertEquals((2 * 5 + 4) * 5 + 3, c.bin(RED));
        // blue: L* 32.3 -> 1; a* 79.2 -> 4; b* -107.9 -> 0
        assertEquals((1 * 5 + 4) * 5 + 0, c.bin(BLUE));
        assertThrows(IllegalArgumentException.class, () -> new ColourFidelity(1));
    }

    @Test
    void solidRedAgainstATwoColourFlag() {
        ColourFidelity c = new ColourFidelity(5);
        long[] red = c.counts(solid(RED));
        assertEquals(0, ColourFidelity.distance(red, red), 0);
        // half red, half blue: half the mass moves to a disjoint bin
        assertEquals(0.5, ColourFidelity.distance(red, c.counts(image(RED, BLUE, 16))), 1e-12);
        // three quarters red: a quarter moves
        assertEquals(0.25, ColourFidelity.distance(c.counts(image(RED, BLUE, 24)), c.counts(image(RED, BLUE, 16))), 1e-12);
        assertEquals(1, ColourFidelity.distance(red, c.counts(solid(BLUE))), 0);
    }

    @Test
    void whiteBackgroundIsNotCounted() {
        ColourFidelity c = new ColourFidelity(5);
        // a red stripe on white has the colours of solid red: the background is left out
        long[] stripe = c.counts(image(RED, WHITE, 4));
        assertEquals(32 * 4, java.util.Arrays.stream(stripe).sum());
        assertEquals(0, ColourFidelity.distance(stripe, c.counts(solid(RED))), 0);
        // the threshold: every channel >= 240 is background, 239 in one channel is counted
        assertEquals(-1, c.bin(0xf0f0f0));
        assertEquals(-1, c.bin(0xfffff0));
        assertEquals(32 * 32, java.util.Arrays.stream(c.counts(solid(0xeff0f0))).sum());
        // an empty (all-white) image: 1 against any colour, 0 against another empty one
        long[] blank = c.counts(solid(WHITE));
        assertEquals(1, ColourFidelity.distance(blank, stripe), 0);
        assertEquals(0, ColourFidelity.distance(blank, c.counts(solid(0xf8f8f8))), 0);
    }

    @Test
    void fewerBinsMergeNearbyColours() {
        // red and orange: with 2 bins per channel both are (L >= 50, a >= 0, b >= 0); with 5, a* 80.1 vs 23.9 split them
        assertEquals(0, ColourFidelity.distance(new ColourFidelity(2).counts(solid(RED)),
                new ColourFidelity(2).counts(solid(ORANGE))), 0);
        assertEquals(1, ColourFidelity.distance(new ColourFidelity(5).counts(solid(RED)),
                new ColourFidelity(5).counts(solid(ORANGE))), 0);
        assertEquals(8, new ColourFidelity(2).counts(solid(RED)).length);
    }

    @Test
    void diversityIsTheMeanDistanceToTheOtherPromptsOfTheSameLabel() {
        ColourFidelity c = new ColourFidelity(5);
        long[] red = c.counts(solid(RED));
        long[] blue = c.counts(solid(BLUE));
        long[] flag = c.counts(image(RED, BLUE, 16));
        // no labels: image 0 (red) vs red, blue of prompts 1, 2 -> (0 + 1) / 2; image 2 (blue) -> (1 + 1) / 2
        assertArrayEquals(new double[] {0.5, 0.5, 1}, ColourFidelity.diversity(java.util.List.of(red, red, blue),
                new int[] {0, 1, 2}, null), 1e-12);
        // two images of one prompt are never compared with each other
        assertArrayEquals(new double[] {1, 1, 1}, ColourFidelity.diversity(java.util.List.of(red, red, blue),
                new int[] {0, 0, 1}, null), 1e-12);
        // labels: "Flags" prompts 0, 1 (all red: the red blob) score 0 among themselves; prompt 2, alone in its label,
        // is compared with all others: (0.5 + 0.5) / 2
        assertArrayEquals(new double[] {0, 0, 0.5}, ColourFidelity.diversity(java.util.List.of(red, red, flag),
                new int[] {0, 1, 2}, new String[] {"Flags", "Flags", "Objects"}), 1e-12);
        assertThrows(IllegalArgumentException.class,
                () -> ColourFidelity.diversity(java.util.List.of(red, blue), new int[] {0, 0}, null));
    }
}
