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

    /**
     * Noisy red or blue 32 px squares; subcategory = a white mark top-left or bottom-right; style "b" draws the same
     * content inside a 3 px black frame.
     */
    private void writeStyle(String style, Random rng) throws IOException {
        boolean framed = style.equals("b");
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
                    boolean frame = framed && (x < 3 || y < 3 || x > 28 || y > 28);
                    img.setRGB(x, y, frame ? 0 : mark ? 0xffffff : rgb);
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
                new ClassifierTrainer.Options(8, 16, 3e-3, 0, 0, 1.0), line -> { });
        assertEquals(80, r.trainImages());
        assertEquals(16, r.heldoutImages());
        assertEquals(1.0, r.heldoutCategoryAccuracy(), "colour is trivially separable");
        assertTrue(r.heldoutSubcategoryAccuracy() >= 0.75, "mark position: " + r.heldoutSubcategoryAccuracy());
        assertTrue(r.lastEpochLoss() < 0.8, "loss " + r.lastEpochLoss() + " should fall below 2 ln 2 = 1.39");
        assertTrue(Files.isRegularFile(out.resolve("metrics.json")));
        assertEquals(1.0, r.heldout().styleAccuracy(), "the frame is trivially separable");
        assertEquals(8, r.heldout().samplesA());
        assertEquals(8, r.heldout().samplesB());
        // measured again from the folder on disk (lcm demo style-fid): the same features, so the same numbers
        ClassifierTrainer.Separation again = ClassifierTrainer.separation(tmp.resolve("data"), List.of("a", "b"), out);
        assertEquals(r.heldout().styleFid(), again.styleFid(), 1e-6 * r.heldout().styleFid());
        assertEquals(r.heldoutCategoryAccuracy(), again.categoryAccuracy());
        assertEquals(1.0, again.styleAccuracy());
        IllegalArgumentException order = assertThrows(IllegalArgumentException.class,
                () -> ClassifierTrainer.separation(tmp.resolve("data"), List.of("b", "a"), out));
        assertEquals(out + ": trained on styles [a, b], asked for [b, a] (give them in that order)", order.getMessage());

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

    /**
     * The shipped demo classifier on 32 held-out names drawn by both vendors (testdata/emoji-style, its README): its
     * features put the two styles far apart (style FID 70.6 when shipped; 12.3 for the classifier before the style head,
     * trained without one), while it keeps the categories (0.875 here; 0.781 before).
     */
    @Test
    void shippedClassifierSeparatesTheStylesOfTheSameNames() throws IOException {
        Path repo = Path.of(System.getProperty("golden.dir")).getParent().getParent();
        ClassifierTrainer.Separation s = ClassifierTrainer.separation(repo.resolve("testdata/emoji-style"),
                List.of("twitter", "google"), repo.resolve("data/demo-weights/classifier"));
        assertEquals(32, s.samplesA());
        assertEquals(32, s.samplesB());
        assertTrue(s.styleFid() > 40, "style FID " + s.styleFid() + " should stay far above the 12.3 of a classifier "
                + "without a style head (the shipped one: 70.6)");
        assertTrue(s.styleAccuracy() >= 0.85, "style accuracy " + s.styleAccuracy());
        assertTrue(s.categoryAccuracy() >= 0.75, "category accuracy " + s.categoryAccuracy());
    }

    @Test
    void styleWeightZeroTrainsNoStyleHead() throws IOException {
        writeStyle("a", new Random(1));
        writeStyle("b", new Random(2));
        Path out = tmp.resolve("old");
        ClassifierTrainer.Result r = ClassifierTrainer.train(tmp.resolve("data"), List.of("a", "b"), out,
                new ClassifierTrainer.Options(1, 32, 3e-3, 0, 0, 0), line -> { });
        assertTrue(Double.isNaN(r.heldout().styleAccuracy()));
        assertTrue(r.heldout().styleFid() > 0, "the frame still moves the features: " + r.heldout().styleFid());
        try (DomainClassifier net = DomainClassifier.load(out)) {
            assertEquals(List.of(), net.config().styles());
            IllegalStateException ex = assertThrows(IllegalStateException.class, () -> net.styleLogits(null));
            assertTrue(ex.getMessage().endsWith("has no style head (its config.json names no styles)"), ex.getMessage());
        }
        IllegalArgumentException one = assertThrows(IllegalArgumentException.class, () -> ClassifierTrainer.train(
                tmp.resolve("data"), List.of("a"), tmp.resolve("x"), new ClassifierTrainer.Options(1, 32, 3e-3, 0, 0, 1),
                line -> { }));
        assertEquals("a style head needs at least 2 styles, got [a] (or set the style weight to 0)", one.getMessage());
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
                tmp.resolve("o"), new ClassifierTrainer.Options(1, 8, 1e-3, 0, 0, 0), l -> { }));
        assertEquals(tmp.resolve("twitter").resolve("manifest-32.jsonl") + ": not found (build the data with `lcm data emoji`)",
                ex.getMessage());
    }
}
