package io.lcmlora.train.distill;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.lora.Adapters;
import io.lcmlora.lora.LoraAdapter;
import io.lcmlora.lora.LoraComponent;
import io.lcmlora.lora.LoraFile;
import io.lcmlora.lora.LoraKeyMap;
import io.lcmlora.model.unet.UNet2DConditionModel;
import io.lcmlora.pipeline.LoraSpec;
import io.lcmlora.pipeline.SdxlPipeline;
import io.lcmlora.schedule.SchedulerConfig;
import io.lcmlora.train.cli.Main;
import io.lcmlora.train.config.TrainConfig;
import io.lcmlora.train.loop.Checkpoints;
import io.lcmlora.train.loop.Rng;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.proto.Event;
import org.tensorflow.proto.Summary;

/**
 * The CI smoke run (the shape of diffusers' test_lcm_lora.py): configs/tiny.yaml end to end on the CPU - cache
 * built, steps run, TensorBoard file parses, keep-last-N respected, final LoRA written - then export in every format
 * through the CLI and reload with the adapter loader: every file gives the same UNet output as the trained masters.
 */
@ExtendWith(OneEngineThread.class)
class DistillerSmokeTest {
    static final PrintStream QUIET = new PrintStream(new ByteArrayOutputStream());

    @Test
    void tinyRunEndToEndThenExportAndReload(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("run");
        // alpha 8 over rank 4: scale 2, so the exports must carry the true alpha (or fold it)
        TrainConfig config = TinyRun.config(out, "lora.alpha=8.0", "checkpointing.every=1", "checkpointing.keep_last=2");
        Distiller.RunResult r = Distiller.run(config, QUIET);

        assertTrue(r.cacheBuilt() && r.encodersLoaded());
        assertTrue(Files.isRegularFile(out.resolve("cache").resolve(LatentCache.INDEX)));
        assertEquals(0, r.startStep());
        assertEquals(4, r.endStep());
        assertEquals(4, r.steps().size());
        List<Float> logged = TrainLog.losses(out.resolve(Distiller.TRAIN_LOG));
        assertEquals(r.steps().stream().map(Distiller.StepLog::loss).toList(), logged);
        for (Distiller.StepLog s : r.steps()) {
            assertTrue(Float.isFinite(s.loss()) && s.loss() > 0 && s.gradNorm() > 0, s.toString());
        }
        assertEquals(0.0, r.steps().get(0).lr(), "warm-up of 1 step: the first update has rate 0");
        assertEquals(1e-4, r.steps().get(1).lr(), 1e-18);

        // keep_last 2 with a checkpoint every step: only 3 and 4 remain, complete
        List<Path> cps = new Checkpoints(out, 2).complete();
        assertEquals(List.of(out.resolve("checkpoint-3"), out.resolve("checkpoint-4")), cps);
        try (Stream<Path> s = Files.list(out)) {
            assertEquals(2, s.filter(p -> p.getFileName().toString().contains("checkpoint")).count());
        }

        // TensorBoard: every record's framing is valid and the scalars of each step are there
        Set<String> tags = new HashSet<>();
        List<Long> lossSteps = new ArrayList<>();
        try (Stream<Path> s = Files.list(out.resolve("logs"))) {
            Path events = s.filter(p -> p.getFileName().toString().startsWith("events.out.tfevents.")).findFirst().orElseThrow();
            for (byte[] rec : records(events)) {
                Event e = Event.parseFrom(rec);
                for (Summary.Value v : e.getSummary().getValueList()) {
                    tags.add(v.getTag());
                    if (v.getTag().equals("train/loss")) {
                        lossSteps.add(e.getStep());
                        assertEquals(r.steps().get((int) e.getStep() - 1).loss(), v.getSimpleValue());
                    }
                }
            }
        }
        assertEquals(Set.of("train/loss", "train/lr", "train/grad_norm", "train/step_time_s", "train/images_per_s",
                "validation"), tags);
        // validation at step 4 (tiny.yaml: every 4, one prompt, one image, 2 LCM steps): a 64x64 PNG grid
        java.awt.image.BufferedImage grid = javax.imageio.ImageIO.read(out.resolve("validation/step-000004.png").toFile());
        assertEquals(64, grid.getWidth());
        assertEquals(64, grid.getHeight());
        assertEquals(List.of(1L, 2L, 3L, 4L), lossSteps);

        // the final LoRA holds the step-4 masters (diffusers keys; alpha 8 / rank 4 folded into B)
        Map<String, float[]> masters = readAll(out.resolve("checkpoint-4").resolve(Checkpoints.LORA));
        Map<String, float[]> exported = readAll(r.finalLora());
        assertEquals(2 * 258, masters.size(), "rank-4 LoRA on the 258 LCM-LoRA target modules of the tiny UNet");
        for (var e : masters.entrySet()) {
            float[] x = exported.get("unet." + e.getKey());
            float[] want = e.getValue().clone();
            if (e.getKey().endsWith("lora_B.weight")) {
                for (int i = 0; i < want.length; i++) {
                    want[i] *= 2f;
                }
            }
            assertArrayEquals(want, x, e.getKey());
        }
        assertTrue(masters.entrySet().stream().anyMatch(e -> e.getKey().endsWith("lora_B.weight")
                && maxAbs(e.getValue()) > 0), "training moved B off zero");

        // export through the CLI in every format; fp32 reloads give the trained model's output bit for bit
        Path cp = out.resolve("checkpoint-4");
        Map<String, Path> files = new LinkedHashMap<>();
        for (String f : List.of("kohya", "kohya-diffusers", "diffusers")) {
            Path file = tmp.resolve(f + ".safetensors");
            assertEquals(0, Main.commandLine().execute("export", "--checkpoint", cp.toString(), "--format", f, "--dtype",
                    "fp32", "--out", file.toString()));
            files.put(f, file);
        }
        Path fp16 = tmp.resolve("kohya16.safetensors");
        assertEquals(0, Main.commandLine().execute("export", "--checkpoint", cp.toString(), "--out", fp16.toString()));
        try (SafeTensorsFile f = SafeTensorsFile.open(files.get("kohya"))) {
            assertEquals("4", f.metadata().get("rank"));
            assertEquals("8.0", f.metadata().get("alpha"));
            assertEquals("4", f.metadata().get("steps"));
            assertTrue(f.metadata().get("config").contains("rank: 4"));
            String alphaKey = f.tensors().keySet().stream().filter(k -> k.endsWith(".alpha")).findFirst().orElseThrow();
            assertTrue(alphaKey.startsWith("lora_unet_input_blocks_") || alphaKey.startsWith("lora_unet_middle_block_")
                    || alphaKey.startsWith("lora_unet_output_blocks_"), alphaKey);
            assertEquals(8f, f.floats(alphaKey)[0], "the true alpha, not alpha = rank");
        }
        try (NDManager m = NDManager.newBaseManager()) {
            UNet2DConditionModel unet = UNet2DConditionModel.load(TinyRun.ROOT.resolve("testdata/golden/unet"), null, m,
                    DataType.FLOAT32);
            Rng rng = Rng.seeded(5);
            UNet2DConditionModel.Inputs in = new UNet2DConditionModel.Inputs(rng.randn(m, new Shape(1, 4, 8, 8)),
                    new double[] {499}, rng.randn(m, new Shape(1, 77, 64)), rng.randn(m, new Shape(1, 32)),
                    m.create(new float[] {64, 64, 0, 0, 64, 64}, new Shape(1, 6)));
            float[] base = unet.forward(in).toFloatArray();
            // reference: the checkpoint's masters as hand-built adapters with scale alpha / r = 2
            Adapters trained = new Adapters(LoraComponent.UNET, unet.layers());
            Map<String, LoraAdapter> mods = new LinkedHashMap<>();
            try (SafeTensorsFile f = SafeTensorsFile.open(cp.resolve(Checkpoints.LORA))) {
                for (String module : unet.layers().keySet()) {
                    if (f.contains(module + ".lora_A.weight")) {
                        mods.put(module, new LoraAdapter(unet.layers().get(module), f.load(module + ".lora_A.weight", m),
                                f.load(module + ".lora_B.weight", m), 8.0));
                    }
                }
            }
            trained.add("trained", mods, 1.0);
            float[] want = unet.forward(in).toFloatArray();
            trained.remove("trained");
            assertFalse(java.util.Arrays.equals(base, want), "the trained LoRA changes the output");
            for (Path file : List.of(files.get("kohya"), files.get("kohya-diffusers"), files.get("diffusers"), r.finalLora())) {
                Adapters a = new Adapters(LoraComponent.UNET, unet.layers());
                a.load(LoraFile.load(file, LoraKeyMap.of(unet), m, DataType.FLOAT32), "x", 1.0);
                assertEquals(258, a.adapter("x").size(), file.toString());
                assertArrayEquals(want, unet.forward(in).toFloatArray(), file.toString());
                a.remove("x");
            }
            Adapters a = new Adapters(LoraComponent.UNET, unet.layers());
            a.load(LoraFile.load(fp16, LoraKeyMap.of(unet), m, DataType.FLOAT32), "x", 1.0);
            float[] got16 = unet.forward(in).toFloatArray();
            a.remove("x");
            double err = 0;
            double delta = 0;
            for (int i = 0; i < want.length; i++) {
                err = Math.max(err, Math.abs(got16[i] - want[i]));
                delta = Math.max(delta, Math.abs(want[i] - base[i]));
            }
            assertTrue(err < 0.01 * delta, "fp16 export: max error " + err + " vs LoRA effect " + delta);
            assertNotEquals(0.0, err, "fp16 rounding is visible");

            // what `lcm generate --lora FILE` does: the pipeline loads the exported kohya file onto a fresh UNet and
            // samples the validation request; the pixels equal the run's own step-4 validation grid
            try (ConditioningEncoder enc = ConditioningEncoder.load(config.model(), m.getDevice(), DataType.FLOAT32);
                    SdxlPipeline pipe = new SdxlPipeline(enc.sdxlModel(unet, SchedulerConfig.sdxl()))) {
                pipe.loadLora(new LoraSpec(files.get("kohya"), 1.0));
                assertEquals(258, pipe.unetAdapters().adapter(pipe.unetAdapters().names().get(0)).size());
                java.awt.image.BufferedImage img = pipe.generate(LcmValidator.request(config, "a red square")).get(0).image();
                for (int y = 0; y < 64; y++) {
                    for (int x = 0; x < 64; x++) {
                        assertEquals(grid.getRGB(x, y), img.getRGB(x, y), "pixel " + x + "," + y);
                    }
                }
            }
        }
    }

    static Map<String, float[]> readAll(Path file) throws IOException {
        Map<String, float[]> m = new LinkedHashMap<>();
        try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
            for (String k : f.tensors().keySet()) {
                m.put(k, f.floats(k));
            }
        }
        return m;
    }

    static double maxAbs(float[] v) {
        double m = 0;
        for (float x : v) {
            m = Math.max(m, Math.abs(x));
        }
        return m;
    }

    /** TFRecord framing: u64 length, u32 masked CRC, data, u32 masked CRC (little-endian); complete records only. */
    static List<byte[]> records(Path file) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        List<byte[]> out = new ArrayList<>();
        while (b.remaining() >= 12) {
            int len = (int) b.getLong();
            b.getInt();
            byte[] data = new byte[len];
            b.get(data);
            b.getInt();
            out.add(data);
        }
        assertEquals(0, b.remaining(), "no torn record at the end");
        return out;
    }
}
