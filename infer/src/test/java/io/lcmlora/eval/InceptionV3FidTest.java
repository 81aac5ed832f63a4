package io.lcmlora.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lcmlora.cli.FidCommand;
import io.lcmlora.cli.ForwardCommand;
import io.lcmlora.io.SafeTensorsFile;
import java.awt.image.BufferedImage;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * Parity of the FID InceptionV3 with pytorch-fid on the golden set's generated weights, through the CLI
 * entry points ({@code forward inception}, {@code fid stats}).
 */
class InceptionV3FidTest {
    private static final Path GOLDEN = Path.of(System.getProperty("golden.dir"));
    private static final Path FORWARD = GOLDEN.resolve("fid/inception_forward.safetensors");
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
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    static double maxRelErr(float[] actual, float[] expected) {
        assertEquals(expected.length, actual.length);
        double maxAbs = 0;
        double scale = 0;
        for (int i = 0; i < expected.length; i++) {
            maxAbs = Math.max(maxAbs, Math.abs(actual[i] - expected[i]));
            scale = Math.max(scale, Math.abs(expected[i]));
        }
        return maxAbs / scale;
    }

    static int run(Object command, String... args) {
        StringWriter out = new StringWriter();
        CommandLine cl = new CommandLine(command);
        cl.setOut(new PrintWriter(out));
        int code = cl.execute(args);
        System.out.print(out);
        return code;
    }

    @Test
    void forwardCommandMatchesPytorchFid() throws Exception {
        Path out = dir.resolve("taps.safetensors");
        long t0 = System.nanoTime();
        // batch size 1 also exercises the per-batch slicing (4 images in 2 tensors)
        assertEquals(0, run(new ForwardCommand(), "inception", "--weights", weights.toString(), "--inputs",
                FORWARD.toString(), "--output", out.toString(), "--batch-size", "1"));
        System.out.printf("forward inception, 4 images: %.1f s%n", (System.nanoTime() - t0) / 1e9);
        try (SafeTensorsFile g = SafeTensorsFile.open(FORWARD); SafeTensorsFile o = SafeTensorsFile.open(out)) {
            assertEquals("pytorch-fid", o.metadata().get("preprocessing"));
            for (String c : List.of("case0_", "case1_")) {
                for (String tap : List.of("block0_channel_mean", "block1_channel_mean", "block2_channel_mean", "pool3")) {
                    double err = maxRelErr(o.floats(c + tap), g.floats(c + tap));
                    System.out.printf("%s%s: max abs err / max |ref| = %.3g%n", c, tap, err);
                    assertTrue(err < 1e-5, c + tap + ": " + err);
                }
            }
        }
    }

    static void writePng(float[] u8, int index, int h, int w, Path file) throws Exception {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        int plane = h * w;
        int base = index * 3 * plane;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int i = y * w + x;
                int r = (int) u8[base + i];
                int gr = (int) u8[base + plane + i];
                int b = (int) u8[base + 2 * plane + i];
                img.setRGB(x, y, (r << 16) | (gr << 8) | b);
            }
        }
        ImageIO.write(img, "png", file.toFile());
    }

    @Test
    void statsCommandOnPngFolderMatchesGoldenFeatures() throws Exception {
        Path images = Files.createDirectories(dir.resolve("images"));
        try (SafeTensorsFile g = SafeTensorsFile.open(FORWARD)) {
            float[] c0 = toFloats(g.longs("case0_images_u8"));
            float[] c1 = toFloats(g.longs("case1_images_u8"));
            // sorted by name: a (150x200), b (150x200), c (299x299): the size change splits the batch
            writePng(c1, 0, 150, 200, images.resolve("a.png"));
            writePng(c1, 1, 150, 200, images.resolve("b.png"));
            writePng(c0, 1, 299, 299, images.resolve("c.png"));
            Path stats = dir.resolve("stats.safetensors");
            assertEquals(0, run(new FidCommand(), "stats", "--images", images.toString(), "--out", stats.toString(),
                    "--weights", weights.toString(), "--dims", "64", "--batch-size", "2"));
            FeatureStats s = FeatureStats.load(stats);
            assertEquals(3, s.count());
            assertTrue(s.extractor().contains("preprocessing pytorch-fid"), s.extractor());
            float[] r1 = g.floats("case1_block0_channel_mean");
            float[] r0 = g.floats("case0_block0_channel_mean");
            double[][] rows = new double[3][64];
            for (int j = 0; j < 64; j++) {
                rows[0][j] = r1[j];
                rows[1][j] = r1[64 + j];
                rows[2][j] = r0[64 + j];
            }
            double[] mu = s.mean();
            double[][] sigma = s.covariance();
            double maxMu = 0;
            double maxSigma = 0;
            double scale = 0;
            for (int i = 0; i < 64; i++) {
                double m = (rows[0][i] + rows[1][i] + rows[2][i]) / 3;
                maxMu = Math.max(maxMu, Math.abs(mu[i] - m) / Math.max(1e-3, Math.abs(m)));
                for (int j = 0; j < 64; j++) {
                    double mj = (rows[0][j] + rows[1][j] + rows[2][j]) / 3;
                    double c = 0;
                    for (double[] r : rows) {
                        c += (r[i] - m) * (r[j] - mj);
                    }
                    c /= 2;
                    maxSigma = Math.max(maxSigma, Math.abs(sigma[i][j] - c));
                    scale = Math.max(scale, Math.abs(c));
                }
            }
            System.out.printf("stats of 3 PNGs: mu rel err %.3g, sigma max abs err / max |sigma| %.3g%n", maxMu, maxSigma / scale);
            assertTrue(maxMu < 1e-5 && maxSigma / scale < 1e-4, maxMu + " " + maxSigma / scale);
        }
    }

    static float[] toFloats(long[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            f[i] = v[i];
        }
        return f;
    }
}
