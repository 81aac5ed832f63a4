package io.lcmlora.train.distill;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lcmlora.train.loop.Checkpoints;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Resuming gives the uninterrupted trajectory: the same losses bit for bit and the same final LoRA, after a stop
 * mid-run (in-process) and after kill -9 of a child JVM at an arbitrary moment. A NaN loss stops the run and keeps
 * the last good checkpoint. All runs share one latent cache, so only the first loads the encoders.
 */
@ExtendWith(OneEngineThread.class)
class DistillResumeTest {
    static final PrintStream QUIET = new PrintStream(new ByteArrayOutputStream());

    @TempDir
    static Path tmp;

    static Path cache;

    @BeforeAll
    static void buildCache() throws IOException {
        cache = TinyRun.buildCache(tmp);
    }

    static String[] with(String... extra) {
        List<String> o = new ArrayList<>(List.of("cache.dir=" + cache, "validation.every=0"));
        o.addAll(List.of(extra));
        return o.toArray(String[]::new);
    }

    @Test
    void stopAndResumeGivesTheUninterruptedLossesAndLora() throws IOException {
        // batch 1 with 3 accumulated micro-batches over 4 images: the step-2 checkpoint is mid-epoch
        String[] settings = with("distill.max_train_steps=4", "distill.train_batch_size=1",
                "distill.gradient_accumulation_steps=3", "checkpointing.every=2", "optim.lr_scheduler=cosine",
                "optim.learning_rate=1e-3");
        Path straight = tmp.resolve("straight");
        Distiller.RunResult a = Distiller.run(TinyRun.config(straight, settings), QUIET);
        assertFalse(a.encodersLoaded(), "training from the cache loads neither the VAE nor the text encoders");
        assertEquals(4, a.steps().size());

        Path split = tmp.resolve("split");
        Distiller.RunResult first = Distiller.run(TinyRun.config(split, settings), QUIET,
                Distiller.Options.defaults().stopAfter(3)); // step 3 is lost: only checkpoint-2 was written
        assertEquals(3, first.endStep());
        assertEquals(null, first.finalLora(), "a stopped run exports nothing");
        assertEquals(List.of(split.resolve("checkpoint-2")), new Checkpoints(split, 10).complete());
        Distiller.RunResult second = Distiller.run(TinyRun.config(split, with(settings, "checkpointing.resume=latest")), QUIET);
        assertEquals(2, second.startStep());
        assertEquals(4, second.endStep());

        assertEquals(TrainLog.losses(straight.resolve(Distiller.TRAIN_LOG)), TrainLog.losses(split.resolve(Distiller.TRAIN_LOG)));
        assertEquals(a.steps().stream().map(Distiller.StepLog::loss).toList(),
                TrainLog.losses(split.resolve(Distiller.TRAIN_LOG)));
        assertSameLora(straight.resolve(Distiller.FINAL_LORA), split.resolve(Distiller.FINAL_LORA));
    }

    /**
     * fp16 (dynamic loss scaling, on the CPU through the test hook): loss_scale 2^22 overflows the tiny UNet's fp16
     * gradients now and then, so updates are skipped while the scale halves (measured: steps 2 and 4 skipped). The scale and growth tracker are saved in
     * state.json, so a run stopped after step 2 and resumed skips and applies exactly the updates of the
     * uninterrupted run: the same losses and LoRA bit for bit. (Without them the resumed run restarts at 2^24 and
     * skips updates the uninterrupted one applied.)
     */
    @Test
    void fp16ResumeContinuesAtTheSavedLossScale() throws IOException {
        String[] settings = with("distill.max_train_steps=4", "distill.train_batch_size=1", "checkpointing.every=1",
                "checkpointing.keep_last=0", "precision.weights_dtype=fp16", "precision.loss_scale=4194304",
                "optim.learning_rate=1e-3");
        Distiller.Options fp16 = Distiller.Options.defaults().fp16OnCpu();
        Path straight = tmp.resolve("fp16-straight");
        Distiller.run(TinyRun.config(straight, settings), QUIET, fp16);
        double[] scales = new double[5];
        int[] tracker = new int[5];
        scales[0] = 4194304;
        for (int k = 1; k <= 4; k++) {
            var ls = Checkpoints.load(straight.resolve("checkpoint-" + k)).state().getAsJsonObject("loss_scale");
            assertTrue(ls.get("dynamic").getAsBoolean(), "fp16 scales the loss");
            scales[k] = ls.get("scale").getAsDouble();
            // GradScaler: an overflow halves the scale and resets the tracker; a finite update counts one up
            tracker[k] = scales[k] == scales[k - 1] ? tracker[k - 1] + 1 : 0;
            assertEquals(scales[k] == scales[k - 1] ? scales[k] : scales[k - 1] / 2, scales[k], "step " + k);
            assertEquals(tracker[k], ls.get("growth_tracker").getAsInt(), "growth tracker after step " + k);
        }
        System.out.println("fp16 resume: loss scale after each step " + Arrays.toString(scales));
        assertTrue(scales[2] < scales[0], "an overflow before the checkpoint the resume starts from");
        assertTrue(scales[3] == scales[2] || scales[4] == scales[3], "an update after the resumed step was applied");

        Path split = tmp.resolve("fp16-split");
        Distiller.run(TinyRun.config(split, settings), QUIET, fp16.stopAfter(2));
        ByteArrayOutputStream said = new ByteArrayOutputStream();
        Distiller.run(TinyRun.config(split, with(settings, "checkpointing.resume=" + split.resolve("checkpoint-2"))),
                new PrintStream(said, true), fp16);
        assertFalse(said.toString().contains("holds no fp16 loss scale"), said.toString());
        assertEquals(TrainLog.losses(straight.resolve(Distiller.TRAIN_LOG)), TrainLog.losses(split.resolve(Distiller.TRAIN_LOG)));
        assertSameLora(straight.resolve(Distiller.FINAL_LORA), split.resolve(Distiller.FINAL_LORA));
        for (int k = 3; k <= 4; k++) {
            assertEquals(scales[k], Checkpoints.load(split.resolve("checkpoint-" + k)).state()
                    .getAsJsonObject("loss_scale").get("scale").getAsDouble(), "scale after step " + k);
        }
    }

    /**
     * A checkpoint written before the loss scale was saved (state.json without it) still resumes, at
     * precision.loss_scale, and says so; a malformed saved scale is refused naming the file and the key.
     */
    @Test
    void fp16ResumeOfAnOldCheckpointStartsAtTheInitialScaleAndSaysSo() throws IOException {
        String[] settings = with("distill.max_train_steps=2", "distill.train_batch_size=1", "checkpointing.every=1",
                "checkpointing.keep_last=0", "precision.weights_dtype=fp16", "precision.loss_scale=1024");
        Distiller.Options fp16 = Distiller.Options.defaults().fp16OnCpu();
        Path run = tmp.resolve("fp16-old");
        Distiller.run(TinyRun.config(run, settings), QUIET, fp16.stopAfter(1));
        Path old = tmp.resolve("fp16-old-copy");
        Path bad = tmp.resolve("fp16-bad-copy");
        rewriteState(run.resolve("checkpoint-1"), old, state -> state.remove("loss_scale"));
        rewriteState(run.resolve("checkpoint-1"), bad, state -> state.getAsJsonObject("loss_scale").addProperty("scale", -4));

        ByteArrayOutputStream said = new ByteArrayOutputStream();
        Distiller.RunResult r = Distiller.run(TinyRun.config(run, with(settings, "checkpointing.resume=" + old)),
                new PrintStream(said, true), fp16);
        assertEquals(2, r.endStep());
        assertTrue(said.toString().contains(old.resolve("state.json") + " holds no fp16 loss scale (written by an older "
                + "version): continuing at precision.loss_scale 1024.0"), said.toString());

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Distiller.run(
                TinyRun.config(run, with(settings, "checkpointing.resume=" + bad)), QUIET, fp16));
        assertTrue(e.getMessage().contains(bad.resolve("state.json") + ": state.loss_scale.scale: expected a finite "
                + "number >= 1.0, got -4.0"), e.getMessage());
    }

    /** Copies a checkpoint folder with its state.json's loop state edited (sizes and checksums stay valid). */
    static void rewriteState(Path from, Path to, java.util.function.Consumer<com.google.gson.JsonObject> edit)
            throws IOException {
        Files.createDirectories(to);
        try (var files = Files.list(from)) {
            for (Path f : files.toList()) {
                Files.copy(f, to.resolve(f.getFileName()));
            }
        }
        Path state = to.resolve(Checkpoints.STATE);
        var doc = com.google.gson.JsonParser.parseString(Files.readString(state)).getAsJsonObject();
        edit.accept(doc.getAsJsonObject("state"));
        Files.writeString(state, doc.toString());
    }

    @Test
    void killMinus9AtAnyMomentThenResumeLosesNothing() throws Exception {
        String[] settings = with("distill.max_train_steps=4", "checkpointing.every=1", "checkpointing.keep_last=2");
        Path straight = tmp.resolve("kill-straight");
        Distiller.RunResult a = Distiller.run(TinyRun.config(straight, settings), QUIET);

        Path run = tmp.resolve("kill-run");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx1g", "-Dai.djl.offline=true", OneEngineThread.JVM_FLAG, "-Dgolden.dir=" + System.getProperty("golden.dir"), "-cp", System.getProperty("java.class.path"),
                DistillChild.class.getName(), run.toString()));
        cmd.addAll(List.of(settings));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(tmp.resolve("child.log").toFile());
        Process p = pb.start();
        Checkpoints cps = new Checkpoints(run, 2);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(240);
        while (cps.complete().size() < 2 && p.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertTrue(p.isAlive(), "the child ran to the end before it could be killed: " + Files.readString(tmp.resolve("child.log")));
        Thread.sleep(150); // somewhere inside a later step or checkpoint write
        p.destroyForcibly(); // SIGKILL
        assertTrue(p.waitFor(20, TimeUnit.SECONDS));

        for (Path d : cps.complete()) {
            Checkpoints.load(d); // every complete checkpoint verifies (sizes and CRC32C)
        }
        long at = Checkpoints.load(cps.latest().orElseThrow()).step();
        assertTrue(at >= 2 && at <= 4, "resuming from " + at);
        Distiller.RunResult b = Distiller.run(TinyRun.config(run, with(settings, "checkpointing.resume=latest")), QUIET);
        assertEquals(at, b.startStep());
        assertEquals(a.steps().stream().map(Distiller.StepLog::loss).toList(), TrainLog.losses(run.resolve(Distiller.TRAIN_LOG)));
        assertSameLora(straight.resolve(Distiller.FINAL_LORA), run.resolve(Distiller.FINAL_LORA));
    }

    @Test
    void aNaNLossStopsTheRunAndKeepsTheLastGoodCheckpoint() throws IOException {
        Path run = tmp.resolve("nan");
        NonFiniteLossException e = assertThrows(NonFiniteLossException.class, () -> Distiller.run(
                TinyRun.config(run, with("checkpointing.every=1")), QUIET, Distiller.Options.defaults().poison(2)));
        assertEquals(2, e.step());
        assertTrue(e.getMessage().contains("loss is NaN at step 2") && e.getMessage().contains("checkpoint-1")
                && e.getMessage().contains("--resume latest"), e.getMessage());
        Checkpoints cps = new Checkpoints(run, 2);
        assertEquals(List.of(run.resolve("checkpoint-1")), cps.complete());
        assertEquals(1, Checkpoints.load(run.resolve("checkpoint-1")).step());
        assertFalse(Files.exists(run.resolve(Distiller.FINAL_LORA)));
        assertEquals(1, TrainLog.losses(run.resolve(Distiller.TRAIN_LOG)).size(), "step 1 logged, step 2 not");
    }

    static String[] with(String[] base, String extra) {
        List<String> o = new ArrayList<>(List.of(base));
        o.add(extra);
        return o.toArray(String[]::new);
    }

    static void assertSameLora(Path want, Path got) throws IOException {
        Map<String, float[]> a = DistillerSmokeTest.readAll(want);
        Map<String, float[]> b = DistillerSmokeTest.readAll(got);
        assertEquals(a.keySet(), b.keySet());
        for (String k : a.keySet()) {
            assertArrayEquals(a.get(k), b.get(k), k);
        }
    }
}
