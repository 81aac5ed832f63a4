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
import io.lcmlora.model.unet.UNet2DConditionModel;
import io.lcmlora.schedule.NoiseSchedule;
import io.lcmlora.schedule.SchedulerConfig;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Parity of one LCD step with diffusers' train_lcm_distill_lora_sdxl.py (testdata/golden/lcd_step). */
class LcdStepTest {
    static final Path GOLDEN = Path.of(System.getProperty("golden.dir"));
    static NDManager manager;
    static UNet2DConditionModel unet;
    static Adapters adapters;
    static SafeTensorsFile step;

    @BeforeAll
    static void load() throws Exception {
        manager = NDManager.newBaseManager();
        unet = UNet2DConditionModel.load(GOLDEN.resolve("unet"), null, manager, DataType.FLOAT32);
        adapters = new Adapters(LoraComponent.UNET, unet.layers());
        adapters.load(LoraFile.load(GOLDEN.resolve("lcd_step/lora_state.safetensors"), LoraKeyMap.of(unet), manager, DataType.FLOAT32),
                "lcm", 1.0);
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

    static LcdStep lcd(LossType loss) {
        return new LcdStep(unet, adapters, NoiseSchedule.of(SchedulerConfig.sdxl()), new LcdStep.Config(50, loss, 0.001, GuidanceConvention.LCM));
    }

    static LcdStep.Result run(NDManager m, LossType loss, boolean backward) throws Exception {
        LcdStep.Batch batch = new LcdStep.Batch(step.load("latents", m), step.load("prompt_embeds", m), step.load("text_embeds", m),
                step.load("time_ids", m));
        LcdStep.Draws draws = new LcdStep.Draws(step.longs("index"), step.load("noise", m), step.floats("w"));
        for (LoraAdapter a : adapters.adapter("lcm").values()) {
            JniUtils.zeroGrad((PtNDArray) a.a());
            JniUtils.zeroGrad((PtNDArray) a.b());
        }
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            LcdStep.Result r = lcd(loss).run(batch, draws, true);
            if (backward) {
                gc.backward(r.loss());
            }
            return r;
        }
    }

    static double maxAbs(NDArray a, NDArray b) {
        assertArrayEquals(b.getShape().getShape(), a.getShape().getShape());
        return a.sub(b).abs().max().getFloat();
    }

    @Test
    void everyIntermediateAndBothLossesMatch() throws Exception {
        try (NDManager m = manager.newSubManager()) {
            LcdStep.Result r = run(m, LossType.HUBER, false);
            assertEquals(18, r.intermediates().size());
            for (Map.Entry<String, NDArray> e : r.intermediates().entrySet()) {
                double err = maxAbs(e.getValue(), step.load(e.getKey(), m));
                assertTrue(err <= 1e-4, e.getKey() + " max abs " + err);
            }
            float huber = r.loss().getFloat();
            float wantHuber = step.floats("loss_huber")[0];
            assertEquals(wantHuber, huber, Math.abs(wantHuber) * 1e-5, "huber loss");
            float l2 = LossType.L2.apply(r.intermediates().get("model_pred"), r.intermediates().get("target"), 0.001).getFloat();
            float wantL2 = step.floats("loss_l2")[0];
            assertEquals(wantL2, l2, Math.abs(wantL2) * 1e-5, "l2 loss");
            System.out.printf("LCD step: huber %.9g (ref %.9g), l2 %.9g (ref %.9g)%n", huber, wantHuber, l2, wantL2);
        }
    }

    @Test
    void loraGradientsMatchForBothLosses() throws Exception {
        for (LossType loss : LossType.values()) {
            String prefix = loss == LossType.HUBER ? "grad_huber." : "grad_l2.";
            try (NDManager m = manager.newSubManager()) {
                run(m, loss, true);
                double sq = 0;
                Map<String, LoraAdapter> lora = adapters.adapter("lcm");
                for (Map.Entry<String, LoraAdapter> e : lora.entrySet()) {
                    for (String role : new String[] {"lora_A", "lora_B"}) {
                        NDArray g = role.equals("lora_A") ? e.getValue().a().getGradient() : e.getValue().b().getGradient();
                        sq += g.square().sum().getFloat();
                        String key = prefix + e.getKey() + "." + role + ".weight";
                        if (step.contains(key)) {
                            NDArray want = step.load(key, m);
                            double err = maxAbs(g, want);
                            double scale = want.abs().max().getFloat();
                            assertTrue(err <= 1e-4 * Math.max(1, scale), key + " max abs " + err + " (max |ref| " + scale + ")");
                        }
                    }
                }
                float wantNorm = step.floats(prefix.replace(".", "") + "_total_norm")[0];
                assertEquals(wantNorm, Math.sqrt(sq), wantNorm * 1e-4, loss + " total grad norm");
                System.out.printf("LCD step %s: grad norm %.9g (ref %.9g)%n", loss, Math.sqrt(sq), wantNorm);
            }
        }
    }
}
