package io.lcmlora.train.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import io.lcmlora.eval.ClipScore;
import io.lcmlora.eval.DomainClassifier;
import io.lcmlora.eval.ImageFolder;
import io.lcmlora.train.config.EvalConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CLIP-score and prompt-alignment columns of a sweep, recomputed by hand per image: the golden tiny CLIP towers
 * ({@code testdata/golden/clip_score}) with the tiny tokenizer, and the shipped emoji classifier
 * ({@code data/demo-weights/classifier}) scoring each prompt's label; and their bootstrap replicates.
 */
class EvalSweepColumnsTest {
    static final Path ROOT = Path.of(System.getProperty("golden.dir")).getParent().getParent();
    static final Path CLIP = ROOT.resolve("testdata/golden/clip_score");
    static final Path CLASSIFIER = ROOT.resolve("data/demo-weights/classifier");
    static final String[] LABELS = {"Flags", "Symbols", "Smileys & Emotion", "Flags"};

    @TempDir
    Path tmp;

    EvalConfig config(boolean labelAll) throws IOException {
        Files.createDirectories(tmp.resolve("data/refs"));
        StringBuilder jsonl = new StringBuilder();
        for (int p = 0; p < LABELS.length; p++) {
            for (int k = 0; k < 2; k++) {
                ImageIO.write(EvalSweepTest.texture(p, 50 + k, 0), "png", tmp.resolve("data/refs/" + p + "_" + k + ".png").toFile());
            }
            String label = labelAll || p > 0 ? ", \"label\": \"" + LABELS[p] + "\"" : "";
            jsonl.append("{\"prompt\": \"a red flag number ").append(p).append("\", \"references\": [\"refs/").append(p)
                    .append("_0.png\", \"refs/").append(p).append("_1.png\"]").append(label).append("}\n");
        }
        Files.writeString(tmp.resolve("data/prompts.jsonl"), jsonl.toString());
        String yaml = "models: [{name: tiny, path: " + tmp.resolve("model") + "}]\n"
                + "prompts: " + tmp.resolve("data/prompts.jsonl") + "\n"
                + "seeds: [0]\nimages_per_prompt: 3\nwidth: 16\nheight: 16\nbatch_size: 3\n"
                + "features: {type: domain-classifier, weights: " + CLASSIFIER + ", dims: 128, preprocessing: none}\n"
                + "clip_score: {vision: " + CLIP.resolve("vision") + ", text: " + CLIP.resolve("text") + ", tokenizer: "
                + ROOT.resolve("testdata/tiny-tokenizer/tokenizer_2") + ", batch_size: 5}\n"
                + "bootstrap: {resamples: 25, seed: 4}\n"
                + "settings: [{name: lcm, scheduler: lcm, steps: 2}]\n"
                + "output_dir: " + tmp.resolve("out") + "\n";
        return EvalConfig.parse(yaml);
    }

    @Test
    void clipScoreAndAlignmentMatchAByHandComputation() throws IOException {
        SweepResults r = EvalSweep.run(config(true), new EvalSweepTest.FakeGenerator(), FeatureExtractors.standard(),
                SweepProgress.none());
        SweepResults.Setting s = r.settings().get(0);
        List<Path> files = new ArrayList<>();
        List<Integer> prompt = new ArrayList<>();
        for (int p = 0; p < LABELS.length; p++) {
            for (int k = 0; k < 3; k++) {
                files.add(tmp.resolve("out/lcm").resolve(String.format("%05d_%d.png", p, k)));
                prompt.add(p);
            }
        }
        double[] clip = new double[files.size()];
        double[] align = new double[files.size()];
        try (ClipScore cs = ClipScore.load(CLIP.resolve("vision"), CLIP.resolve("text"),
                ClipScore.tokenizer(CLIP.resolve("text"), ROOT.resolve("testdata/tiny-tokenizer/tokenizer_2")));
                DomainClassifier dc = DomainClassifier.load(CLASSIFIER); NDManager m = NDManager.newBaseManager()) {
            List<String> texts = new ArrayList<>();
            for (int p = 0; p < LABELS.length; p++) {
                texts.add("a red flag number " + p);
            }
            double[][] text = cs.textEmbeds(texts);
            for (int i = 0; i < files.size(); i++) {
                var img = ImageFolder.load(List.of(ImageFolder.read(files.get(i))), List.of(files.get(i)), m);
                clip[i] = ClipScore.score(cs.imageEmbeds(img)[0], text[prompt.get(i)]);
                align[i] = dc.classProbability(img, new int[] {dc.config().classes().indexOf(LABELS[prompt.get(i)])})[0];
            }
        }
        assertEquals(mean(clip), s.clipScore(), 1e-5); // float32 towers: batched vs one image at a time
        assertEquals(mean(align), s.alignment(), 1e-6);
        assertTrue(s.alignment() > 0 && s.alignment() < 1);
        // replicate b: each prompt's images weighted by its draw count
        int[][] counts = PromptBootstrap.resamples(LABELS.length, 25, 4);
        for (int b : new int[] {0, 24}) {
            double sc = 0;
            double sa = 0;
            double n = 0;
            for (int i = 0; i < files.size(); i++) {
                int w = counts[b][prompt.get(i)];
                sc += w * clip[i];
                sa += w * align[i];
                n += w;
            }
            assertEquals(sc / n, s.clipScoreReplicates()[b], 1e-5);
            assertEquals(sa / n, s.alignmentReplicates()[b], 1e-6);
        }
        assertTrue(s.clipScoreInterval().low() <= s.clipScoreInterval().high());
        String md = Files.readString(tmp.resolve("out/results.md"));
        assertTrue(md.contains("| FID | 90% interval | CLIP score | 90% interval | alignment | 90% interval | colour distance | 90% "
                + "interval | colour diversity | 90% interval | prompts |"), md);
        assertEquals(12, s.samples());
        assertEquals(4, s.prompts());
    }

    @Test
    void partialLabelsAreAnError() throws IOException {
        var e = assertThrows(IllegalArgumentException.class, () -> EvalSweep.run(config(false),
                new EvalSweepTest.FakeGenerator(), FeatureExtractors.standard(), SweepProgress.none()));
        assertTrue(e.getMessage().contains("prompt 0 has no \"label\""), e.getMessage());
    }

    static double mean(double[] v) {
        double s = 0;
        for (double x : v) {
            s += x;
        }
        return s / v.length;
    }
}
