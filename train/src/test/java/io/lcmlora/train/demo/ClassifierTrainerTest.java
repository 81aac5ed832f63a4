package io.lcmlora.train.demo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.lcmlora.eval.DomainClassifier;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClassifierTrainerTest {
    @TempDir
    Path tmp;

    /** Noisy red or blue 32 px squares; subcategory = a white mark top-left or bottom-right. */
    private void writeStyle(String style, Random rng) throws IOException {
        Path dir = tmp.resolve("data").resolve(style);
        Files.createDirectories(dir.resolve("img32"));
        StringBuilder m = new StringBuilder();
        for (int i = 0; i < 48; i++) {
            boolean red = i % 2 == 0;
            boolean top = (i / 2) % 2 == 0;
            BufferedImage img = new BufferedImage(32, 32, BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < 32; y++) {
                for (int x = 0; x < 32; x++) {
                    int n = rng.nextInt(60);
                    int rgb = red ? ((195 + n) << 16) | (n << 8) | n : (n << 16) | (n << 8) | (195 + n);
                    boolean mark = top ? (x < 10 && y < 10) : (x > 21 && y > 21);
                    img.setRGB(x, y, mark ? 0xffffff : rgb);
                }
            }
            String name = "img32/" + i + ".png";
            ImageIO.write(img, "png", dir.resolve(name).toFile());
            m.append(String.format("{\"image\":\"%s\",\"caption\":\"c\",\"category\":\"%s\",\"subcategory\":\"%s\",\"split\":\"%s\"}%n",
                    name, red ? "Red" : "Blue", top ? "top" : "bottom", i >= 40 ? "heldout" : "train"));
        }
        Files.writeString(dir.resolve("manifest-32.jsonl"), m.toString());
    }

    @Test
    void learnsSyntheticClassesAndReloadsToTheSameFeatures() throws IOException {
        writeStyle("a", new Random(1));
        writeStyle("b", new Random(2));
        Path out = tmp.resolve("cls");
        ClassifierTrainer.Result r = ClassifierTrainer.train(tmp.resolve("data"), List.of("a", "b"), out,
                new ClassifierTrainer.Options(8, 16, 3e-3, 0, 0), line -> { });
        assertEquals(80, r.trainImages());
        assertEquals(16, r.heldoutImages());
        assertEquals(1.0, r.heldoutCategoryAccuracy(), "colour is trivially separable");
        assertTrue(r.heldoutSubcategoryAccuracy() >= 0.75, "mark position: " + r.heldoutSubcategoryAccuracy());
        assertTrue(r.lastEpochLoss() < 0.8, "loss " + r.lastEpochLoss() + " should fall below 2 ln 2 = 1.39");
        assertTrue(Files.isRegularFile(out.resolve("metrics.json")));

        try (DomainClassifier net = DomainClassifier.load(out); NDManager m = NDManager.newBaseManager()) {
            assertEquals(128, net.dim());
            assertEquals(List.of("Blue", "Red"), net.config().classes());
            assertTrue(net.describe().startsWith("domain classifier cls (sha256 "), net.describe());
            BufferedImage red = ImageIO.read(tmp.resolve("data/a/img32/40.png").toFile());
            byte[] px = new byte[3 * 32 * 32];
            for (int p = 0; p < 32 * 32; p++) {
                int v = red.getRGB(p % 32, p / 32);
                px[p] = (byte) (v >>> 16);
                px[1024 + p] = (byte) (v >>> 8);
                px[2048 + p] = (byte) v;
            }
            NDArray u8 = m.create(ByteBuffer.wrap(px), new Shape(1, 3, 32, 32), DataType.UINT8);
            double[][] f32 = net.features(u8);
            // The same image at 64 px (each pixel repeated 2x2) box-averages back to the 32 px input exactly.
            NDArray big = u8.repeat(2, 2).repeat(3, 2);
            assertArrayEquals(f32[0], net.features(big)[0], 1e-6);
            NDArray logits = net.classLogits(net.forwardFeatures(net.preprocess(u8)));
            assertEquals(1, logits.argMax(1).getLong(0), "image 40 is red");
        }
    }

    @Test
    void crossEntropyMatchesClosedForm() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray logits = m.create(new float[] {0f, 0f, 0f, 1f, 2f, 3f}, new Shape(2, 3));
            double l1 = Math.log(3);
            double l2 = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)) - 1;
            assertEquals((l1 + l2) / 2, ClassifierTrainer.crossEntropy(logits, new int[] {2, 0}, 3).getFloat(), 1e-6);
        }
    }

    @Test
    void missingDataIsNamed() {
        IOException ex = assertThrows(IOException.class, () -> ClassifierTrainer.train(tmp, List.of("twitter"),
                tmp.resolve("o"), new ClassifierTrainer.Options(1, 8, 1e-3, 0, 0), l -> { }));
        assertEquals(tmp.resolve("twitter").resolve("manifest-32.jsonl") + ": not found (build the data with `lcm data emoji`)",
                ex.getMessage());
    }
}
