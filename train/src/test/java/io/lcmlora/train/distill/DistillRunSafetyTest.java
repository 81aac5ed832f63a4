package io.lcmlora.train.distill;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lcmlora.cli.LoraCommand;
import io.lcmlora.io.AtomicFiles;
import io.lcmlora.io.DType;
import io.lcmlora.io.NonFiniteWeightsException;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.io.SafeTensorsWriter;
import io.lcmlora.train.cli.Main;
import io.lcmlora.train.config.TrainConfig;
import io.lcmlora.train.loop.Checkpoint;
import io.lcmlora.train.loop.Checkpoints;
import io.lcmlora.train.loop.RunLock;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Run safety of distill (issue 12): a second run on a locked output_dir is refused; NaN/Inf LoRA weights are refused
 * at resume, at export in every format and at load; after a NaN the advice names the last checkpoint with finite
 * weights written before the bad step, and a re-divergence right after resuming asks for different settings.
 */
@ExtendWith(OneEngineThread.class)
class DistillRunSafetyTest {
    static final PrintStream QUIET = new PrintStream(new ByteArrayOutputStream());
    /** 5 NaN and 2 infinite values are planted in one tensor of the forged checkpoint. */
    static final int NAN = 5;
    static final int INF = 2;

    @TempDir
    static Path tmp;

    static Path cache;

    @BeforeAll
    static void buildCache() throws IOException {
        cache = TinyRun.buildCache(tmp);
    }

    static TrainConfig config(Path run, String... extra) throws IOException {
        List<String> o = new ArrayList<>(List.of("cache.dir=" + cache, "validation.every=0"));
        o.addAll(List.of(extra));
        return TinyRun.config(run, o.toArray(String[]::new));
    }

    @Test
    void aSecondRunOnALockedOutputDirIsRefusedNamingTheHolder() throws Exception {
        Path run = tmp.resolve("locked");
        try (RunLock first = RunLock.acquire(run, "first run", QUIET)) {
            RunLock.LockedException e = assertThrows(RunLock.LockedException.class, () -> Distiller.run(config(run), QUIET));
            assertTrue(e.getMessage().contains("PID " + ProcessHandle.current().pid()) && e.getMessage().contains("first run"),
                    e.getMessage());
        }
        assertFalse(Files.exists(run.resolve("checkpoint-2")), "the refused run wrote nothing");
    }

    @Test
    void nonFiniteWeightsAreRefusedAtResumeExportAndLoadAndTheAdviceSkipsThem() throws Exception {
        Path run = tmp.resolve("nan");
        Distiller.run(config(run), QUIET, Distiller.Options.defaults().stopAfter(2));
        Path good = run.resolve("checkpoint-2");
        Path bad = forgeNonFinite(good, 3);
        String badLora = bad.resolve(Checkpoints.LORA).toString();

        // resume: the newest checkpoint (3) holds NaN/Inf and is refused, naming the file and the count
        NonFiniteWeightsException r = assertThrows(NonFiniteWeightsException.class,
                () -> Distiller.run(config(run, "checkpointing.resume=latest"), QUIET));
        assertEquals(NAN + INF, r.count());
        assertTrue(r.getMessage().contains(badLora) && r.getMessage().contains((NAN + INF) + " non-finite values ("
                + NAN + " NaN, " + INF + " infinite)") && r.getMessage().contains("--resume DIR"), r.getMessage());

        // export, every format: refused, nothing written; through the CLI the error names the file and the count
        for (LoraExporter.Format f : LoraExporter.Format.values()) {
            Path out = tmp.resolve("nan-" + f + ".safetensors");
            NonFiniteWeightsException x = assertThrows(NonFiniteWeightsException.class,
                    () -> LoraExporter.exportCheckpoint(bad, f, DType.F16, out));
            assertEquals(NAN + INF, x.count(), f.toString());
            assertFalse(Files.exists(out), f.toString());
        }
        Path cliOut = tmp.resolve("cli.safetensors");
        StringWriter err = new StringWriter();
        CommandLine cli = Main.commandLine();
        cli.setErr(new PrintWriter(err, true));
        assertEquals(1, cli.execute("export", "--checkpoint", bad.toString(), "--format", "diffusers", "--out", cliOut.toString()));
        assertTrue(err.toString().contains(badLora) && err.toString().contains((NAN + INF) + " non-finite"), err.toString());
        assertFalse(err.toString().contains("Exception"), err.toString());
        assertFalse(Files.exists(cliOut));
        // the exporter refuses host tensors with NaN whatever their source (the final export of a run)
        Map<String, LoraExporter.Tensor> lora = LoraExporter.readLora(bad.resolve(Checkpoints.LORA));
        TrainConfig cfg = TrainConfig.parse(Checkpoints.load(good).configYaml());
        assertThrows(NonFiniteWeightsException.class, () -> LoraExporter.write(lora, LoraExporter.info(cfg, 3),
                LoraExporter.Format.DIFFUSERS, DType.F32, cliOut));
        assertFalse(Files.exists(cliOut));

        // load: a diffusers LoRA file with NaN is refused by lora inspect (and the adapter loader behind generate)
        Path fine = tmp.resolve("fine.safetensors");
        LoraExporter.exportCheckpoint(good, LoraExporter.Format.DIFFUSERS, DType.F32, fine);
        Path broken = tmp.resolve("broken.safetensors");
        poisonFile(fine, broken);
        String summary = LoraCommand.inspect(fine, TinyRun.ROOT.resolve("testdata/golden"));
        assertTrue(summary.contains("modules:"), summary);
        NonFiniteWeightsException i = assertThrows(NonFiniteWeightsException.class,
                () -> LoraCommand.inspect(broken, TinyRun.ROOT.resolve("testdata/golden")));
        assertTrue(i.getMessage().startsWith(broken + ": " + (NAN + INF) + " non-finite values"), i.getMessage());
        try (ai.djl.ndarray.NDManager m = ai.djl.ndarray.NDManager.newBaseManager()) {
            io.lcmlora.model.unet.UNet2DConditionModel unet = io.lcmlora.model.unet.UNet2DConditionModel.load(
                    TinyRun.ROOT.resolve("testdata/golden/unet"), null, m, ai.djl.ndarray.types.DataType.FLOAT32);
            assertThrows(io.lcmlora.lora.LoraException.class, () -> io.lcmlora.lora.LoraFile.load(broken,
                    io.lcmlora.lora.LoraKeyMap.of(unet), m, ai.djl.ndarray.types.DataType.FLOAT32));
        }

        // advice without a resume: checkpoint-3 is newer but not finite, so the last good one is checkpoint-2, by path
        Checkpoints cps = new Checkpoints(run, 0);
        assertEquals(Optional.of(good), Distiller.lastGood(cps, 4));
        assertEquals(Optional.empty(), Distiller.lastGood(cps, 2), "a checkpoint of the bad step itself is not 'before'");
        String fresh = Distiller.divergenceAdvice(cfg, cps, Optional.empty(), 4, false);
        assertTrue(fresh.contains("--resume " + good) && !fresh.contains("--resume latest"), fresh);
        String fp16 = Distiller.divergenceAdvice(cfg, cps, Optional.empty(), 4, true);
        assertTrue(fp16.contains("precision.loss_scale"), fp16);

        // resumed from checkpoint-2, the loss goes bad again before a newer good checkpoint: different advice
        NonFiniteLossException again = assertThrows(NonFiniteLossException.class, () -> Distiller.run(
                config(run, "checkpointing.resume=" + good), QUIET, Distiller.Options.defaults().poison(4)));
        String msg = again.getMessage();
        assertEquals(4, again.step());
        assertTrue(msg.contains("diverged again 2 steps after resuming from " + good), msg);
        assertTrue(msg.contains("would repeat this") && msg.contains("optim.learning_rate (now 1.0E-4"), msg);
        assertFalse(msg.contains("--resume latest"), msg);

        // with a lowered learning rate the advice says so
        NonFiniteLossException lowered = assertThrows(NonFiniteLossException.class, () -> Distiller.run(
                config(run, "checkpointing.resume=" + good, "optim.learning_rate=1e-5"), QUIET,
                Distiller.Options.defaults().poison(3)));
        assertTrue(lowered.getMessage().contains("diverged again 1 step after resuming")
                && lowered.getMessage().contains("optim.learning_rate was 1.0E-4 before, 1.0E-5 now"), lowered.getMessage());
    }

    @Test
    void aResumedRunRegeneratesAMissingValidationImageCleansTempsAndLogsEachStepOnceToTensorBoard() throws Exception {
        Path run = tmp.resolve("resume-tb");
        String[] o = {"validation.every=2", "logging.every=1", "logging.tensorboard=true"};
        Distiller.run(config(run, o), QUIET, Distiller.Options.defaults().stopAfter(3));
        Path png = Distiller.validationPng(run, 2);
        assertTrue(Files.isRegularFile(png));
        // killed while writing step 2's grid: the atomic write left its temp file and no PNG
        Files.delete(png);
        Path stale = Files.createFile(png.resolveSibling("." + png.getFileName() + ".k3j2h1.tmp"));
        Path staleTop = Files.createFile(run.resolve(".train_log.jsonl.x1.tmp"));

        List<String> resumed = new ArrayList<>(List.of(o));
        resumed.add("checkpointing.resume=latest");
        Distiller.RunResult r = Distiller.run(config(run, resumed.toArray(String[]::new)), QUIET,
                Distiller.Options.defaults().stopAfter(3));
        assertEquals(2, r.startStep());
        assertTrue(Files.isRegularFile(png), "the resumed step's validation image is regenerated");
        assertFalse(Files.exists(stale) || Files.exists(staleTop), "temp files of interrupted writes are removed");

        // steps 1-3 were logged by the first run, 3 again by the resumed one: every step shows once in the folder
        List<Long> steps = new ArrayList<>();
        try (var files = Files.list(run.resolve("logs"))) {
            for (Path f : files.sorted().toList()) {
                steps.addAll(lossSteps(f));
            }
        }
        steps.sort(Long::compare);
        assertEquals(List.of(1L, 2L, 3L), steps);
    }

    /**
     * Two runs sharing one logging.dir: when run B resumes (dropping its own events after its checkpoint), run A's
     * events are left as they are; every file is named after its run (output_dir).
     */
    @Test
    void aResumedRunTrimsOnlyItsOwnTensorBoardFilesInASharedLoggingDir() throws Exception {
        Path logs = tmp.resolve("shared-logs");
        Path a = tmp.resolve("tb-a");
        Path b = tmp.resolve("tb-b");
        String[] o = {"logging.every=1", "logging.tensorboard=true", "logging.dir=" + logs};
        Distiller.run(config(a, o), QUIET, Distiller.Options.defaults().stopAfter(3)); // A logged 1-3, checkpoint-2
        Distiller.run(config(b, o), QUIET, Distiller.Options.defaults().stopAfter(3)); // so did B
        List<String> resumed = new ArrayList<>(List.of(o));
        resumed.add("checkpointing.resume=latest");
        Distiller.run(config(b, resumed.toArray(String[]::new)), QUIET, Distiller.Options.defaults().stopAfter(3));

        String runA = Distiller.tensorBoardRun(a);
        String runB = Distiller.tensorBoardRun(b);
        assertFalse(runA.equals(runB));
        List<Long> stepsA = new ArrayList<>();
        List<Long> stepsB = new ArrayList<>();
        int files = 0;
        try (var list = Files.list(logs)) {
            for (Path f : list.sorted().toList()) {
                String name = f.getFileName().toString();
                assertTrue(name.startsWith("events.out.tfevents.") && (name.contains("." + runA) ^ name.contains("." + runB)),
                        name);
                (name.contains("." + runA) ? stepsA : stepsB).addAll(lossSteps(f));
                files++;
            }
        }
        assertEquals(3, files, "A's file and B's two");
        assertEquals(List.of(1L, 2L, 3L), stepsA, "run A's events are untouched by B's resume");
        stepsB.sort(Long::compare);
        assertEquals(List.of(1L, 2L, 3L), stepsB, "B's step 3 once: trimmed from its first file, logged again");
    }

    @Test
    void badPathsAreRefusedNamingTheKey() throws Exception {
        Path run = tmp.resolve("paths");
        io.lcmlora.train.config.ConfigException s = assertThrows(io.lcmlora.train.config.ConfigException.class,
                () -> Distiller.run(config(run, "model.scheduler=" + tmp.resolve("no-such-scheduler")), QUIET));
        assertEquals("model.scheduler", s.key());
        assertTrue(s.problem().contains("does not exist"), s.problem());
        Path file = Files.writeString(tmp.resolve("a-file"), "x");
        for (String key : List.of("output_dir", "cache.dir", "logging.dir")) {
            io.lcmlora.train.config.ConfigException e = assertThrows(io.lcmlora.train.config.ConfigException.class,
                    () -> Distiller.run(config(run, key + "=" + file), QUIET));
            assertEquals(key, e.key());
            assertTrue(e.problem().contains("is a file; expected a folder"), e.problem());
        }
        // no model.tokenizer: the bundled SDXL tokenizer's ids exceed the tiny text encoder's vocabulary
        io.lcmlora.train.config.ConfigException t = assertThrows(io.lcmlora.train.config.ConfigException.class,
                () -> ConditioningEncoder.load(TinyRun.config(run, "model.tokenizer=null").model(), ai.djl.Device.cpu(),
                        ai.djl.ndarray.types.DataType.FLOAT32));
        assertEquals("model.tokenizer", t.key());
        assertTrue(t.problem().contains("is not set") && t.problem().contains("vocabulary of"), t.problem());
    }

    /** Steps of the train/loss scalars in one TensorBoard event file (TFRecord framing). */
    static List<Long> lossSteps(Path f) throws IOException {
        byte[] b = Files.readAllBytes(f);
        java.nio.ByteBuffer bb = java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        List<Long> out = new ArrayList<>();
        int pos = 0;
        while (pos + 12 <= b.length) {
            int len = (int) bb.getLong(pos);
            org.tensorflow.proto.Event e = org.tensorflow.proto.Event.parseFrom(
                    java.util.Arrays.copyOfRange(b, pos + 12, pos + 12 + len));
            for (org.tensorflow.proto.Summary.Value v : e.getSummary().getValueList()) {
                if (v.getTag().equals("train/loss")) {
                    out.add(e.getStep());
                }
            }
            pos += 12 + len + 4;
        }
        assertEquals(b.length, pos, f + ": trailing bytes");
        return out;
    }

    /** A complete checkpoint {@code step} with {@code good}'s files, NaN and Inf planted in its first LoRA tensor. */
    static Path forgeNonFinite(Path good, long step) throws IOException {
        Checkpoint cp = Checkpoints.load(good);
        Map<String, AtomicFiles.Body> files = new LinkedHashMap<>();
        Path lora = Files.createTempFile(tmp, "lora", ".safetensors");
        poisonFile(cp.loraFile(), lora);
        for (String name : List.of(Checkpoints.LORA, Checkpoints.OPTIMIZER, Checkpoints.RNG, Checkpoints.CONFIG)) {
            byte[] bytes = Files.readAllBytes(name.equals(Checkpoints.LORA) ? lora : good.resolve(name));
            files.put(name, os -> os.write(bytes));
        }
        return new Checkpoints(good.getParent(), 0).saveFiles(step, files, cp.state());
    }

    /** Copies a safetensors file, with NAN NaN and INF infinite values in its first lora_B tensor. */
    static void poisonFile(Path in, Path out) throws IOException {
        SafeTensorsWriter w = new SafeTensorsWriter();
        try (SafeTensorsFile f = SafeTensorsFile.open(in)) {
            w.metadata(f.metadata());
            boolean done = false;
            for (String k : f.tensors().keySet()) {
                float[] v = f.floats(k);
                if (!done && k.contains("lora_B")) {
                    for (int j = 0; j < NAN + INF; j++) {
                        v[j] = j < NAN ? Float.NaN : (j % 2 == 0 ? Float.POSITIVE_INFINITY : Float.NEGATIVE_INFINITY);
                    }
                    done = true;
                }
                w.addFloats(k, f.info(k).shape(), v, DType.F32);
            }
            assertTrue(done, in + " has no lora_B tensor");
        }
        AtomicFiles.write(out, w::write);
    }
}
