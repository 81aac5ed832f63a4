package io.lcmlora.train.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The plot's axes and points, and the grid's cell placement, read back from the pixels. */
class FigureTest {
    @Test
    void plotPutsEachPointWhereItsAxesSay() {
        // FIDs 40 at 1 step and 10 at 4 steps: y axis to niceCeil(42) = 50, x axis log2 over [0, 2] padded by 6%
        FidPlot.Series s = new FidPlot.Series("lcm", List.of(new double[] {4, 10}, new double[] {1, 40}));
        BufferedImage img = FidPlot.draw("t", List.of(s), 600, 400);
        int left = 70;
        int top = 40;
        int pw = 600 - 70 - 20;
        int ph = 400 - 40 - 60;
        double xMin = -0.12;
        double xMax = 2.12;
        int x1 = left + (int) Math.round((0 - xMin) / (xMax - xMin) * pw);
        int y1 = top + ph - (int) Math.round(40 / 50.0 * ph);
        int x4 = left + (int) Math.round((2 - xMin) / (xMax - xMin) * pw);
        int y4 = top + ph - (int) Math.round(10 / 50.0 * ph);
        assertEquals(FidPlot.PALETTE[0].getRGB(), img.getRGB(x1, y1));
        assertEquals(FidPlot.PALETTE[0].getRGB(), img.getRGB(x4, y4));
        // the line between them passes through the midpoint (log scale: 2 steps sits halfway)
        assertEquals(FidPlot.PALETTE[0].getRGB(), img.getRGB((x1 + x4) / 2, (y1 + y4) / 2));
        assertEquals(Color.WHITE.getRGB(), img.getRGB(x1 + 10, y4 - 5)); // below the line, off the grid lines
        assertThrows(IllegalArgumentException.class, () -> FidPlot.draw("t",
                List.of(new FidPlot.Series("bad", List.<double[]>of(new double[] {0, 1}))), 600, 400));
    }

    @Test
    void niceNumbersAndTicks() {
        assertEquals(50.0, FidPlot.niceCeil(42));
        assertEquals(25.0, FidPlot.niceCeil(21));
        assertEquals(0.2, FidPlot.niceCeil(0.17), 1e-15);
        assertEquals(100.0, FidPlot.niceCeil(100));
        assertEquals(1.0, FidPlot.niceCeil(0));
        assertEquals("0.6", FidPlot.tick(0.2 * 3));
        assertEquals("40", FidPlot.tick(40));
        assertEquals("2.5", FidPlot.tick(2.5));
        assertEquals("0", FidPlot.tick(0));
    }

    @Test
    void gridPlacesEachImageInItsCell() {
        BufferedImage red = solid(64, Color.RED);
        BufferedImage blue = solid(512, Color.BLUE);
        int cell = 32;
        BufferedImage g = SampleGrid.draw("title", List.of("#0 a", "#1 b"), List.of(List.of(red, blue),
                List.of(blue, red)), cell);
        assertEquals(SampleGrid.GAP + 2 * (cell + SampleGrid.GAP), g.getWidth());
        assertEquals(SampleGrid.TITLE + SampleGrid.HEADER + 2 * (cell + SampleGrid.GAP) + SampleGrid.GAP, g.getHeight());
        for (int r = 0; r < 2; r++) {
            for (int c = 0; c < 2; c++) {
                int x = SampleGrid.GAP + c * (cell + SampleGrid.GAP) + cell / 2;
                int y = SampleGrid.TITLE + SampleGrid.HEADER + r * (cell + SampleGrid.GAP) + cell / 2;
                Color want = (r + c) % 2 == 0 ? Color.RED : Color.BLUE;
                assertEquals(want.getRGB(), g.getRGB(x, y), "cell " + r + "," + c);
            }
        }
        // 512 -> 32 by halving, still a solid colour
        assertEquals(32, SampleGrid.shrink(blue, 32, 32).getWidth());
        assertEquals(Color.BLUE.getRGB(), SampleGrid.shrink(blue, 32, 32).getRGB(5, 5));
    }

    static BufferedImage solid(int size, Color c) {
        BufferedImage img = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                img.setRGB(x, y, c.getRGB());
            }
        }
        return img;
    }
}
