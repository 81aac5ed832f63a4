package io.lcmlora.train.distill;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.lora.Adapters;
import io.lcmlora.lora.LoraAdapter;
import io.lcmlora.lora.LoraComponent;
import io.lcmlora.lora.LoraFile;
import io.lcmlora.lora.LoraKeyMap;
import io.lcmlora.model.unet.GradientCheckpointing;
import io.lcmlora.model.unet.UNet2DConditionModel;
import io.lcmlora.schedule.NoiseSchedule;
import io.lcmlora.schedule.SchedulerConfig;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Activation checkpointing changes memory, not gradients: on the golden LCD step (testdata/golden/lcd_step, the
 * reference's draws and LoRA state, Huber loss, computed in float64) every LoRA gradient with checkpointing at each granularity equals
 * the plain-autograd gradient within 1e-10 relative (||diff|| / ||plain|| per tensor; the brief's bound is 1e-6), and the loss is bit-identical.
 */
class LcdStepCheckpointingTest {
    static final Path GOLDEN = Path.of(System.getProperty("golden.dir"));
    static NDManager manager;
    static UNet2DConditionModel unet;
    static Adapters adapters;
    static SafeTensorsFile step;

    @BeforeAll
    static void load() throws Exception {
        manager = NDManager.newBaseManager();
        // float64: what remains between checkpointed and plain gradients is then summation order at 1e-16, so the
        // 1e-6 bound tests the algorithm (in float32 the same comparison is at ~1e-6 from rounding alone)
        unet = UNet2DConditionModel.load(GOLDEN.resolve("unet"), null, manager, DataType.FLOAT64);
        adapters = new Adapters(LoraComponent.UNET, unet.layers());
        adapters.load(LoraFile.load(GOLDEN.resolve("lcd_step/lora_state.safetensors"), LoraKeyMap.of(unet), manager,
                DataType.FLOAT64), "lcm", 1.0);
        for (LoraAdapter a : adapters.adapter("lcm").values()) {
            a.a().setRequiresGradient(true);
            a.b().setRequiresGradient(true);
        }
        step = SafeTensorsFile.open(GOLDEN.resolve("lcd_step/step.safetensors"));
    }

    @AfterAll
    static void close() throws Exception {
        step.close();
        manager.close();
    }

    /** The Huber LCD step on the golden draws at {@code mode}: the loss and every LoRA gradient (copied). */
    static Map<String, NDArray> run(NDManager m, GradientCheckpointing mode) throws Exception {
        DataType f64 = DataType.FLOAT64;
        LcdStep.Batch batch = new LcdStep.Batch(step.load("latents", m, f64), step.load("prompt_embeds", m, f64),
                step.load("text_embeds", m, f64), step.load("time_ids", m, f64));
        LcdStep.Draws draws = new LcdStep.Draws(step.longs("index"), step.load("noise", m, f64), step.floats("w"));
        LcdStep.Config ref = LcdStep.Config.reference();
        LcdStep lcd = new LcdStep(unet, adapters, NoiseSchedule.of(SchedulerConfig.sdxl()),
                new LcdStep.Config(ref.numDdimTimesteps(), ref.loss(), ref.huberC(), ref.guidance(), ref.timestepScaling(), mode));
        Map<String, LoraAdapter> lora = adapters.adapter("lcm");
        for (LoraAdapter a : lora.values()) {
            JniUtils.zeroGrad((PtNDArray) a.a());
            JniUtils.zeroGrad((PtNDArray) a.b());
        }
        Map<String, NDArray> out = new LinkedHashMap<>();
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            LcdStep.Result r = lcd.run(batch, draws, false);
            r.backward(gc, r.loss());
            out.put("loss", r.loss());
        }
        for (Map.Entry<String, LoraAdapter> e : lora.entrySet()) {
            out.put(e.getKey() + ".lora_A", e.getValue().a().getGradient().duplicate());
            out.put(e.getKey() + ".lora_B", e.getValue().b().getGradient().duplicate());
        }
        return out;
    }

    @Test
    void everyLoraGradientIsUnchangedAtEachGranularity() throws Exception {
        try (NDManager m = manager.newSubManager()) {
            Map<String, NDArray> plain = run(m, GradientCheckpointing.OFF);
            for (GradientCheckpointing mode : new GradientCheckpointing[] {GradientCheckpointing.BLOCKS,
                    GradientCheckpointing.TRANSFORMER}) {
                Map<String, NDArray> ck = run(m, mode);
                assertEquals(plain.get("loss").getDouble(), ck.get("loss").getDouble(), 0, mode + " loss");
                int grads = 0;
                double worstNorm = 0;
                double worstMax = 0;
                for (Map.Entry<String, NDArray> e : plain.entrySet()) {
                    String key = e.getKey();
                    if (key.equals("loss")) {
                        continue;
                    }
                    NDArray want = e.getValue();
                    NDArray got = ck.get(key);
                    assertArrayEquals(want.getShape().getShape(), got.getShape().getShape(), key);
                    double norm = Math.sqrt(want.square().sum().getDouble());
                    assertTrue(norm > 0, key + " is all zeros: the test would prove nothing");
                    NDArray diff = got.sub(want);
                    double rel = Math.sqrt(diff.square().sum().getDouble()) / norm;
                    double relMax = diff.abs().max().getDouble() / want.abs().max().getDouble();
                    worstNorm = Math.max(worstNorm, rel);
                    worstMax = Math.max(worstMax, relMax);
                    assertTrue(rel <= 1e-10, mode + " " + key + " relative error " + rel); // float64 rounding is ~1e-15
                    grads++;
                }
                assertEquals(2 * adapters.adapter("lcm").size(), grads);
                System.out.printf("checkpointing %s: %d LoRA gradients, max ||diff||/||grad|| %.3g, max |diff|/max|grad| %.3g%n",
                        mode, grads, worstNorm, worstMax);
            }
        }
    }
}
