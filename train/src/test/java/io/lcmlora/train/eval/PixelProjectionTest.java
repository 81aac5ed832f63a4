package io.lcmlora.train.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.lcmlora.eval.FeatureExtractor;
import io.lcmlora.train.config.EvalConfig;
import java.nio.ByteBuffer;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class PixelProjectionTest {
    /** Images [n, 3, h, w] from a pixel function of (image, channel, y, x). */
    interface Pixel {
        int at(int i, int c, int y, int x);
    }

    static double[][] features(FeatureExtractor ex, int n, int h, int w, Pixel p) {
        byte[] b = new byte[n * 3 * h * w];
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < 3; c++) {
                for (int y = 0; y < h; y++) {
                    for (int x = 0; x < w; x++) {
                        b[((i * 3 + c) * h + y) * w + x] = (byte) p.at(i, c, y, x);
                    }
                }
            }
        }
        try (NDManager m = NDManager.newBaseManager()) {
            return ex.features(m.create(ByteBuffer.wrap(b), new Shape(n, 3, h, w), DataType.UINT8));
        }
    }

    @Test
    void projectsCellMeansByTheSeededMatrix() {
        PixelProjection ex = new PixelProjection(5);
        // the matrix by hand: SplittableRandom(1234) Gaussians / sqrt(48), row-major [5, 48]
        SplittableRandom r = new SplittableRandom(1234);
        double[][] proj = new double[5][48];
        for (double[] row : proj) {
            for (int j = 0; j < 48; j++) {
                row[j] = r.nextGaussian() / Math.sqrt(48);
            }
        }
        // image 0: black; image 1: white; image 2: value 51 (0.2); image 3: only the top-left 2x2 pixels of red white
        double[][] f = features(ex, 4, 8, 8, (i, c, y, x) -> switch (i) {
            case 0 -> 0;
            case 1 -> 255;
            case 2 -> 51;
            default -> c == 0 && y < 2 && x < 2 ? 255 : 0;
        });
        for (int d = 0; d < 5; d++) {
            double rowSum = 0;
            for (double v : proj[d]) {
                rowSum += v;
            }
            assertEquals(0.0, f[0][d], 0.0);
            assertEquals(rowSum, f[1][d], 1e-12);
            assertEquals(0.2 * rowSum, f[2][d], 1e-12);
            // the red channel's top-left cell (index 0) is all white: its mean is 1
            assertEquals(proj[d][0], f[3][d], 1e-12);
        }
        assertEquals(5, ex.dim());
        assertTrue(ex.describe().contains("5-d"), ex.describe());
    }

    @Test
    void registryOpensByTypeAndNamesTheKnownOnes() throws Exception {
        FeatureExtractors standard = FeatureExtractors.standard();
        try (FeatureExtractor ex = standard.open(new EvalConfig.FeaturesConfig("pixels", null, 3, "none", 4))) {
            double[][] f = features(ex, 1, 4, 4, (i, c, y, x) -> 255);
            assertArrayEquals(features(new PixelProjection(3), 1, 4, 4, (i, c, y, x) -> 255)[0], f[0], 0.0);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> standard.open(new EvalConfig.FeaturesConfig("clip", null, 3, "none", 4)));
        assertTrue(e.getMessage().contains("[inception, pixels, " + io.lcmlora.eval.DomainClassifierConfig.TYPE + "]"),
                e.getMessage());
        IllegalArgumentException noWeights = assertThrows(IllegalArgumentException.class,
                () -> standard.open(EvalConfig.FeaturesConfig.defaults()));
        assertTrue(noWeights.getMessage().startsWith("features.weights"), noWeights.getMessage());
        IllegalArgumentException noFolder = assertThrows(IllegalArgumentException.class, () -> standard.open(
                new EvalConfig.FeaturesConfig(io.lcmlora.eval.DomainClassifierConfig.TYPE, null, 128, "none", 4)));
        assertTrue(noFolder.getMessage().startsWith("features.weights"), noFolder.getMessage());
        FeatureExtractors extended = standard.with("clip", c -> new PixelProjection(7));
        try (FeatureExtractor ex = extended.open(new EvalConfig.FeaturesConfig("clip", null, 3, "none", 4))) {
            assertEquals(7, ex.dim());
        }
    }
}
