package io.lcmlora.train.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lcmlora.schedule.SchedulerKind;
import io.lcmlora.train.config.ConfigException;
import io.lcmlora.train.config.EvalConfig;
import io.lcmlora.train.config.TrainConfig;
import io.lcmlora.train.distill.Distiller;
import io.lcmlora.train.eval.EvalPrompt;
import io.lcmlora.train.eval.EvalPrompts;
import io.lcmlora.train.eval.SweepSetting;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The demo's orchestration without its heavy stages: skipping, the generated configs, the prep files. */
class DemoRunTest {
    @TempDir
    Path tmp;

    /** The repository (surefire runs in the module folder), for the real configs/demo files. */
    private static Path repo() {
        return Path.of(System.getProperty("golden.dir")).getParent().getParent();
    }

    private static DemoPaths paths(Path out) {
        return new DemoPaths(repo(), out);
    }

    @Test
    void runStagesSkipsFinishedStagesRunsTheRestAndChecksTheirOutput() throws IOException {
        List<String> ran = new ArrayList<>();
        Set<String> outputs = new HashSet<>(Set.of("a"));
        List<DemoRun.Stage> stages = List.of(
                new DemoRun.Stage("a", "A", () -> outputs.contains("a"), () -> ran.add("a")),
                new DemoRun.Stage("b", "B", () -> outputs.contains("b"), () -> {
                    ran.add("b");
                    outputs.add("b");
                }),
                new DemoRun.Stage("c", "C", () -> outputs.contains("c"), () -> {
                    ran.add("c");
                    outputs.add("c");
                }));
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        List<DemoRun.StageResult> r = DemoRun.runStages(stages, new PrintStream(log, true, StandardCharsets.UTF_8), () -> 0);
        assertEquals(List.of("b", "c"), ran);
        assertEquals(List.of(true, false, false), r.stream().map(DemoRun.StageResult::skipped).toList());
        assertTrue(log.toString(StandardCharsets.UTF_8).contains("[a] skipped: A exists"));

        ran.clear();
        DemoRun.runStages(stages, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), () -> 0);
        assertEquals(List.of(), ran, "a second run skips every stage");

        DemoRun.Stage broken = new DemoRun.Stage("d", "D", () -> false, () -> {});
        IOException e = assertThrows(IOException.class, () -> DemoRun.runStages(List.of(broken),
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), () -> 0));
        assertTrue(e.getMessage().contains("D is missing"), e.getMessage());

        // a stage whose skip test differs from its output check (fetch: skipped once the data is built)
        DemoRun.Stage fetch = new DemoRun.Stage("f", "F", () -> false, () -> outputs.add("f"), () -> outputs.contains("f"));
        DemoRun.runStages(List.of(fetch), new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), () -> 0);
        assertTrue(outputs.contains("f"));
    }

    @Test
    void configsPointEveryPathIntoTheOutputFolder() throws IOException {
        Path out = tmp.resolve("my run");
        DemoRun run = new DemoRun(paths(out), new DemoRun.Options(false, 10), System.out);

        TrainConfig d = run.distillConfig();
        assertEquals(out.resolve("teacher-twitter").toString(), d.model().path());
        assertEquals(List.of(out.resolve("prep/twitter-train-32.jsonl").toString()), d.data().paths());
        assertEquals(out.resolve("lcm-lora").toString(), d.outputDir());
        assertEquals(32, d.data().resolution());
        assertEquals(0, d.validation().every());

        for (String style : List.of("twitter", "google")) {
            EvalConfig e = run.evalConfig(style).requireRunnable();
            assertEquals(List.of(new EvalConfig.ModelSpec("teacher-" + style, out.resolve("teacher-" + style).toString())),
                    e.models());
            assertEquals(out.resolve("lcm-lora").resolve(Distiller.FINAL_LORA).toString(), e.adapters().get(0).file());
            assertEquals(out.resolve("prep/prompts-" + style + ".jsonl").toString(), e.prompts());
            assertEquals(out.resolve("classifier").toString(), e.features().weights());
            assertEquals(out.resolve("eval-" + style).toString(), e.outputDir());
            assertEquals(List.of(1, 2, 4, 50), e.settings().get(0).steps());
            assertEquals(SchedulerKind.DDIM, e.settings().get(0).scheduler());
            assertEquals(List.of(1, 2, 4), e.settings().get(1).steps());
            assertEquals(List.of("lcm-lora"), e.settings().get(1).adapters());
        }
    }

    /** The default settings are what the report needs plus DDIM 1 and LCM 1; more steps are an opt-in. */
    @Test
    void settingsAreTheConfigsUnlessStepsAreChosenAndMustKeepTheReportsInputs() throws IOException {
        Path out = tmp.resolve("o");
        DemoRun more = new DemoRun(paths(out), new DemoRun.Options(false, 10, List.of(1, 2, 4, 8, 25, 50),
                List.of(1, 2, 4, 8)), System.out);
        EvalConfig e = more.evalConfig("google");
        assertEquals(List.of("teacher-ddim-1steps", "teacher-ddim-2steps", "teacher-ddim-4steps", "teacher-ddim-8steps",
                "teacher-ddim-25steps", "teacher-ddim-50steps", "lcm-lora-1steps", "lcm-lora-2steps", "lcm-lora-4steps",
                "lcm-lora-8steps"), SweepSetting.expand(e).stream().map(SweepSetting::name).toList());
        assertEquals(5.0, e.settings().get(0).guidance().get(0), "the rest of the setting is the config's");

        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> new DemoRun.Options(false, 10, List.of(1, 2, 4, 25), null));
        assertEquals("--ddim-steps must include [2, 4, 50] (the report's ratios and grids use them), got [1, 2, 4, 25]",
                missing.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new DemoRun.Options(false, 10, null, List.of(1, 4)));

        // a config without the report's steps is an error naming the file
        EvalConfig c = new DemoRun(paths(out), new DemoRun.Options(false, 10), System.out).evalConfig("twitter");
        ConfigException bad = assertThrows(ConfigException.class,
                () -> DemoRun.withSteps(c, Path.of("eval-x.yaml"), null, List.of(1, 2, 8)));
        assertEquals("settings: eval-x.yaml: the demo's report needs LoRA lcm settings with [2, 4] steps, the config "
                + "has [1, 2, 8]", bad.getMessage());

        // the teacher-only part: no adapters, the DDIM settings under the full sweep's names (same image files)
        EvalConfig t = DemoRun.teacherOnly(c).requireRunnable();
        assertEquals(List.of(), t.adapters());
        assertEquals(List.of("teacher-ddim-1steps", "teacher-ddim-2steps", "teacher-ddim-4steps", "teacher-ddim-50steps"),
                SweepSetting.expand(t).stream().map(SweepSetting::name).toList());
        assertEquals(c.outputDir(), t.outputDir());
    }

    /** The heavy stages: distill alongside the teacher images (chained per style), each eval after both. */
    @Test
    void theGraphRunsTheTeacherImagesAlongsideDistillAndEachEvalAfterBoth() {
        DemoRun run = new DemoRun(paths(tmp.resolve("o")), new DemoRun.Options(false, 10), System.out);
        java.util.Map<String, List<String>> after = new java.util.LinkedHashMap<>();
        run.graph().forEach(n -> after.put(n.name(), n.after()));
        assertEquals(List.of(), after.get("distill"));
        assertEquals(List.of(), after.get("teacher-images-twitter-0of3"));
        assertEquals(List.of(), after.get("teacher-images-google-0of3"));
        assertEquals(List.of("teacher-images-google-1of3"), after.get("teacher-images-google-2of3"));
        assertEquals(List.of("teacher-images-twitter-0of3", "teacher-images-twitter-1of3", "teacher-images-twitter-2of3",
                "distill"), after.get("eval-twitter"));
        assertEquals(List.of("teacher-images-google-0of3", "teacher-images-google-1of3", "teacher-images-google-2of3",
                "distill"), after.get("eval-google"));
    }

    /** The child JVM gets this run's paths and options back from its arguments. */
    @Test
    void workerArgumentsRoundTrip() {
        DemoPaths p = paths(tmp.resolve("o"));
        DemoRun.Options o = new DemoRun.Options(true, 12, List.of(50, 4, 2), List.of(2, 4, 8));
        DemoWorker.Invocation inv = DemoWorker.parse(new DemoRun(p, o, System.out).workerArgs("eval-google"));
        assertEquals(new DemoPaths(p.repo().toAbsolutePath(), p.out().toAbsolutePath()), inv.paths());
        assertEquals(o, inv.options());
        assertEquals("eval-google", inv.stage());
        assertEquals(new DemoRun.Options(false, 0), DemoWorker.parse(new DemoRun(p, new DemoRun.Options(false, 0),
                System.out).workerArgs("distill")).options());
        assertThrows(IllegalArgumentException.class, () -> DemoWorker.parse(List.of("--out", "x", "distill")));
    }

    @Test
    void pretrainConfigsChainThroughTheOutputFolder() throws IOException {
        Path out = tmp.resolve("o");
        DemoRun run = new DemoRun(paths(out), new DemoRun.Options(true, 10), System.out);
        assertEquals(out.resolve("parts").toString(), run.pretrainConfig("pretrain-vae.yaml").outputDir());
        assertEquals(out.resolve("parts").toString(), run.pretrainConfig("pretrain-text.yaml").outputDir());
        var unet = run.pretrainConfig("pretrain-unet.yaml");
        assertEquals(out.resolve("parts").toString(), unet.base());
        assertEquals(out.resolve("teacher-twitter").toString(), unet.outputDir());
        var fine = run.pretrainConfig("finetune-google.yaml");
        assertEquals(out.resolve("teacher-twitter").toString(), fine.base());
        assertEquals(out.resolve("teacher-google").toString(), fine.outputDir());
        assertEquals(repo().resolve("data/emoji").toString(), fine.data());
    }

    @Test
    void stagesAreDoneExactlyWhenTheirOutputsExist() throws IOException {
        Path repo = tmp.resolve("repo");
        Path out = tmp.resolve("out");
        Files.createDirectories(repo.resolve("configs/demo"));
        for (String f : List.of("distill.yaml", "eval-twitter.yaml", "eval-google.yaml")) {
            Files.copy(repo().resolve("configs/demo").resolve(f), repo.resolve("configs/demo").resolve(f));
        }
        DemoRun run = new DemoRun(new DemoPaths(repo, out), new DemoRun.Options(false, 3), System.out);
        List<String> names = run.stages().stream().map(DemoRun.Stage::name).toList();
        assertEquals(List.of("fetch", "data", "prep", "classifier", "teacher-twitter", "teacher-google", "distill",
                "teacher-images-twitter-0of3", "teacher-images-google-0of3", "teacher-images-twitter-1of3",
                "teacher-images-google-1of3", "teacher-images-twitter-2of3", "teacher-images-google-2of3",
                "eval-twitter", "eval-google", "report"), names);
        assertEquals(List.of(), done(run), "nothing is done in an empty folder");

        writeManifest(repo.resolve("data/emoji/twitter"), 6, 4);
        writeManifest(repo.resolve("data/emoji/google"), 6, 4);
        assertEquals(List.of("fetch", "data"), done(run));

        for (DemoRun.Stage s : run.stages()) {
            if (s.name().equals("prep")) {
                s.action().run();
            }
        }
        touch(out.resolve("classifier/model.safetensors"));
        touch(out.resolve("teacher-twitter/model_index.json"));
        touch(out.resolve("lcm-lora").resolve(Distiller.FINAL_LORA));
        assertEquals(List.of("fetch", "data", "prep", "classifier", "teacher-twitter", "distill"), done(run));

        DemoRun other = new DemoRun(new DemoPaths(repo, out), new DemoRun.Options(false, 4), System.out);
        assertFalse(done(other).contains("prep"), "another prompt count redoes the prep");
    }

    @Test
    void prepWritesTheTrainSplitAndHeldOutPromptsWithEveryHeldOutImageAsReference() throws IOException {
        Path dir = tmp.resolve("data/emoji/twitter");
        Path manifest = writeManifest(dir, 5, 7);
        Path train = tmp.resolve("runs/prep/train.jsonl");
        assertEquals(5, DemoPrep.writeTrainManifest(manifest, train));
        List<String> lines = Files.readAllLines(train);
        assertEquals("{\"image\":\"../../data/emoji/twitter/img32/t0.png\",\"caption\":\"train 0, cat\"}", lines.get(0));

        Path promptFile = tmp.resolve("runs/prep/prompts.jsonl");
        List<String> captions = DemoPrep.pickCaptions(DemoPrep.heldOutCaptions(List.of(manifest)), 3);
        assertEquals(7, DemoPrep.writePrompts(manifest, captions, promptFile));
        List<EvalPrompt> prompts = EvalPrompts.read(promptFile);
        // floor(k * 7 / 3) = 0, 2, 4; the other four (1, 3, 5, 6) go round-robin to prompts 0, 1, 2, 0
        assertEquals(List.of("heldout 0, cat", "heldout 2, cat", "heldout 4, cat"),
                prompts.stream().map(EvalPrompt::prompt).toList());
        assertEquals(List.of(dir.resolve("img32/h0.png"), dir.resolve("img32/h1.png"), dir.resolve("img32/h6.png")),
                prompts.get(0).references());
        assertEquals(List.of(dir.resolve("img32/h2.png"), dir.resolve("img32/h3.png")), prompts.get(1).references());
        assertEquals(7, prompts.stream().mapToInt(p -> p.references().size()).sum());
        // only each caption's own image is its colour reference, not the round-robin fill
        assertEquals(List.of(dir.resolve("img32/h0.png")), prompts.get(0).ownReferenceImages());
        assertEquals(List.of(1, 1, 1), prompts.stream().map(EvalPrompt::ownReferences).toList());
        assertThrows(IllegalArgumentException.class,
                () -> DemoPrep.pickCaptions(DemoPrep.heldOutCaptions(List.of(manifest)), 8));
    }

    /** A style missing a held-out image gets the same prompts as the other: chosen by caption, not by position. */
    @Test
    void promptsAreChosenByCaptionCommonToBothStyles() throws IOException {
        Path tw = writeManifest(tmp.resolve("data/emoji/twitter"), 2, 7, -1);
        Path go = writeManifest(tmp.resolve("data/emoji/google"), 2, 7, 2); // google lacks "heldout 2"
        List<String> common = DemoPrep.heldOutCaptions(List.of(tw, go));
        assertEquals(List.of("heldout 0, cat", "heldout 1, cat", "heldout 3, cat", "heldout 4, cat", "heldout 5, cat",
                "heldout 6, cat"), common);
        assertEquals(common, DemoPrep.pickCaptions(common, 0), "0 = every common caption");
        List<String> picked = DemoPrep.pickCaptions(common, 3); // floor(k * 6 / 3) = 0, 2, 4
        assertEquals(List.of("heldout 0, cat", "heldout 3, cat", "heldout 5, cat"), picked);
        Path pt = tmp.resolve("runs/prep/prompts-twitter.jsonl");
        Path pg = tmp.resolve("runs/prep/prompts-google.jsonl");
        assertEquals(7, DemoPrep.writePrompts(tw, picked, pt));
        assertEquals(6, DemoPrep.writePrompts(go, picked, pg));
        List<EvalPrompt> a = EvalPrompts.read(pt);
        List<EvalPrompt> b = EvalPrompts.read(pg);
        assertEquals(a.stream().map(EvalPrompt::prompt).toList(), b.stream().map(EvalPrompt::prompt).toList());
        // each prompt's first reference is its own caption's image in that style
        for (int i = 0; i < 3; i++) {
            String own = "h" + picked.get(i).replaceAll("\\D", "") + ".png";
            assertEquals(own, a.get(i).references().get(0).getFileName().toString());
            assertEquals(own, b.get(i).references().get(0).getFileName().toString());
        }
        assertEquals(6, b.stream().mapToInt(p -> p.references().size()).sum());
    }

    private static List<String> done(DemoRun run) throws IOException {
        List<String> out = new ArrayList<>();
        for (DemoRun.Stage s : run.stages()) {
            if (s.done().test()) {
                out.add(s.name());
            }
        }
        return out;
    }

    private static void touch(Path p) throws IOException {
        Files.createDirectories(p.getParent());
        Files.writeString(p, "x");
    }

    /** A manifest-32.jsonl with interleaved train and held-out lines (image files are not needed by the prep). */
    private static Path writeManifest(Path dir, int train, int heldout) throws IOException {
        return writeManifest(dir, train, heldout, -1);
    }

    /** The same without held-out line {@code skip} (a style that lacks that image). */
    private static Path writeManifest(Path dir, int train, int heldout, int skip) throws IOException {
        Files.createDirectories(dir);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Math.max(train, heldout); i++) {
            if (i < train) {
                sb.append("{\"image\":\"img32/t").append(i).append(".png\",\"caption\":\"train ").append(i)
                        .append(", cat\",\"category\":\"c\",\"split\":\"train\"}\n");
            }
            if (i < heldout && i != skip) {
                sb.append("{\"image\":\"img32/h").append(i).append(".png\",\"caption\":\"heldout ").append(i)
                        .append(", cat\",\"category\":\"c\",\"split\":\"heldout\"}\n");
            }
        }
        Path m = dir.resolve("manifest-32.jsonl");
        Files.writeString(m, sb.toString());
        return m;
    }
}
