package io.lcmlora.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.lcmlora.io.SafeTensorsFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Parity of the FID InceptionV3 taps with pytorch-fid on the golden set's generated weights. */
class InceptionV3FidTest {
    private static final Path GOLDEN = Path.of(System.getProperty("golden.dir"));
    private static Path dir;
    private static Path weights;

    @BeforeAll
    static void generateWeights() throws Exception {
        dir = Files.createTempDirectory("fid-inception");
        weights = dir.resolve("inception_generated.safetensors");
        GoldenInceptionWeights.write(GOLDEN, weights);
    }

    @AfterAll
    static void cleanUp() throws Exception {
        Files.deleteIfExists(weights);
        Files.deleteIfExists(dir);
    }

    static double maxRelErr(float[] actual, float[] expected) {
        double maxAbs = 0;
        double scale = 0;
        for (int i = 0; i < expected.length; i++) {
            maxAbs = Math.max(maxAbs, Math.abs(actual[i] - expected[i]));
            scale = Math.max(scale, Math.abs(expected[i]));
        }
        return maxAbs / scale;
    }

    @Test
    void tapsMatchPytorchFid() throws Exception {
        try (InceptionV3Fid net = InceptionV3Fid.load(weights, 2048, Preprocessing.PYTORCH_FID);
                NDManager m = NDManager.newBaseManager();
                SafeTensorsFile g = SafeTensorsFile.open(GOLDEN.resolve("fid/inception_forward.safetensors"))) {
            for (String c : List.of("case0_", "case1_")) {
                NDArray images = g.load(c + "images_u8", m);
                long t0 = System.nanoTime();
                List<NDArray> taps = net.forwardImages(images, 3);
                System.out.printf("%s forward %s: %.2f s%n", c, images.getShape(), (System.nanoTime() - t0) / 1e9);
                for (int b = 0; b < 3; b++) {
                    float[] mean = InceptionV3Fid.channelMeans(taps.get(b)).toFloatArray();
                    double err = maxRelErr(mean, g.floats(c + "block" + b + "_channel_mean"));
                    System.out.printf("%s block%d channel mean: max abs err / max |ref| = %.3g%n", c, b, err);
                    assertTrue(err < 1e-5, c + " block " + b + ": " + err);
                }
                float[] pool3 = taps.get(3).toFloatArray();
                float[] ref = g.floats(c + "pool3");
                double err = maxRelErr(pool3, ref);
                System.out.printf("%s pool3: max abs err / max |ref| = %.3g%n", c, err);
                assertTrue(err < 1e-5, c + " pool3: " + err);
            }
        }
    }

    @Test
    void lowerDimsAreTheTapChannelMeans() throws Exception {
        try (InceptionV3Fid net = InceptionV3Fid.load(weights, 64, Preprocessing.PYTORCH_FID);
                NDManager m = NDManager.newBaseManager();
                SafeTensorsFile g = SafeTensorsFile.open(GOLDEN.resolve("fid/inception_forward.safetensors"))) {
            assertEquals(64, net.dim());
            double[][] f = net.features(g.load("case1_images_u8", m));
            float[] ref = g.floats("case1_block0_channel_mean");
            assertEquals(2, f.length);
            for (int i = 0; i < 2; i++) {
                for (int j = 0; j < 64; j++) {
                    assertEquals(ref[i * 64 + j], f[i][j], 1e-5 * Math.abs(ref[i * 64 + j]) + 1e-7);
                }
            }
        }
    }
}
