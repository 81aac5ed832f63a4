package io.lcmlora.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import io.lcmlora.io.SafeTensorsFile;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** CLIP score: closed-form cases, and the golden {@code clip_score/} towers end to end (uint8 images, token ids). */
class ClipScoreTest {
    static final Path DIR = Path.of(System.getProperty("golden.dir"), "clip_score");

    @Test
    void closedForm() {
        assertEquals(100.0, ClipScore.score(new double[] {1, 2, 3}, new double[] {2, 4, 6}), 1e-12);
        assertEquals(0.0, ClipScore.score(new double[] {1, 0}, new double[] {0, 5}), 1e-12);
        assertEquals(0.0, ClipScore.score(new double[] {1, 0}, new double[] {-1, 0.1}), 0.0); // clamped, not negative
        assertEquals(50.0, ClipScore.score(new double[] {1, 0}, new double[] {0.5, Math.sqrt(0.75)}), 1e-12); // 60 deg
        assertEquals(25.0, ClipScore.mean(new double[][] {{1, 0}, {1, 0}}, new double[][] {{0.5, Math.sqrt(0.75)}, {0, 1}}),
                1e-12);
        assertThrows(IllegalArgumentException.class, () -> ClipScore.score(new double[] {0, 0}, new double[] {1, 0}));
    }

    @Test
    void goldenTowersEndToEnd() throws IOException {
        try (ClipScore cs = ClipScore.load(DIR.resolve("vision"), DIR.resolve("text"), null);
                SafeTensorsFile f = SafeTensorsFile.open(DIR.resolve("cases.safetensors"));
                NDManager m = NDManager.newBaseManager()) {
            double[][] img = cs.imageEmbeds(f.load("images_u8", m));
            long[] ids = f.longs("input_ids");
            int[][] rows = new int[4][12];
            for (int i = 0; i < ids.length; i++) {
                rows[i / 12][i % 12] = (int) ids[i];
            }
            double[][] txt = cs.textEmbeds(rows);
            float[] want = f.floats("clip_score");
            float[] cos = f.floats("cosine");
            boolean clamped = false;
            for (int i = 0; i < 4; i++) {
                double s = ClipScore.score(img[i], txt[i]);
                System.out.printf("clip score %d: %.6f (golden %.6f, cos %.4f)%n", i, s, want[i], cos[i]);
                assertEquals(want[i], s, 1e-4, "clip_score[" + i + "]");
                clamped |= cos[i] < 0;
            }
            assertEquals(f.floats("clip_score_mean")[0], ClipScore.mean(img, txt), 1e-4);
            System.out.println("golden set has a negative cosine (clamp exercised): " + clamped);
            var e = assertThrows(IllegalStateException.class, () -> cs.textEmbeds(java.util.List.of("a cat")));
            assertTrue(e.getMessage().contains("tokenizer"));
        }
    }
}
