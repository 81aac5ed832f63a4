package io.lcmlora.train.distill;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.lora.Adapters;
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
        adapters = LcdStepCheck.attachTrainable(unet, GOLDEN.resolve("lcd_step/lora_state.safetensors"), manager);
        step = SafeTensorsFile.open(GOLDEN.resolve("lcd_step/step.safetensors"));
    }

    @AfterAll
    static void close() throws Exception {
        step.close();
        manager.close();
    }

    static Map<String, NDArray> run(NDManager m) throws Exception {
        LcdStep.Batch batch = new LcdStep.Batch(step.load("latents", m), step.load("prompt_embeds", m), step.load("text_embeds", m),
                step.load("time_ids", m));
        LcdStep.Draws draws = new LcdStep.Draws(step.longs("index"), step.load("noise", m), step.floats("w"));
        return LcdStepCheck.run(unet, adapters, LcdStep.Config.reference(), NoiseSchedule.of(SchedulerConfig.sdxl()), batch, draws);
    }

    static double maxAbs(NDArray a, NDArray b) {
        assertArrayEquals(b.getShape().getShape(), a.getShape().getShape());
        return a.sub(b).abs().max().getFloat();
    }

    @Test
    void everyIntermediateBothLossesAndTheLoraGradientsMatch() throws Exception {
        try (NDManager m = manager.newSubManager()) {
            Map<String, NDArray> out = run(m);
            int compared = 0;
            for (Map.Entry<String, NDArray> e : out.entrySet()) {
                String key = e.getKey();
                if (!step.contains(key)) {
                    continue;
                }
                NDArray want = step.load(key, m);
                compared++;
                if (key.startsWith("loss_") || key.endsWith("_total_norm")) {
                    float w = want.getFloat();
                    float got = e.getValue().getFloat();
                    double tol = key.startsWith("loss_") ? 1e-5 : 1e-4;
                    assertEquals(w, got, Math.abs(w) * tol, key);
                    System.out.printf("LCD step %s: %.9g (ref %.9g)%n", key, got, w);
                } else {
                    double err = maxAbs(e.getValue(), want);
                    // relative to the tensor's largest magnitude (at least 1), as for the gradients: x0 = (x - sigma eps) / alpha
                    // amplifies fp32 rounding at large t (teacher_pred_x0 reaches |23|; an AVX2 CPU gives 1.8e-4 abs there)
                    double scale = Math.max(1, want.abs().max().getFloat());
                    assertTrue(err <= 1e-4 * scale, key + " max abs " + err + " (scale " + scale + ")");
                }
            }
            // 18 intermediates, 2 losses, 2 x 4 stored gradients, 2 norms
            assertEquals(30, compared);
        }
    }

    /**
     * distill.timestep_scaling reaches the boundary scalings: with scaling s the step's c_skip/c_out at t_{n+k} and
     * t_n are the closed forms 0.25 / ((s t)^2 + 0.25) and s t / sqrt((s t)^2 + 0.25), for s = 10 (the recipe) and
     * s = 0.01 (where c_skip is far from 0), and the two scalings give different losses.
     */
    @Test
    void timestepScalingSetsTheBoundaryScalings() throws Exception {
        try (NDManager m = manager.newSubManager()) {
            LcdStep.Batch batch = new LcdStep.Batch(step.load("latents", m), step.load("prompt_embeds", m),
                    step.load("text_embeds", m), step.load("time_ids", m));
            LcdStep.Draws draws = new LcdStep.Draws(step.longs("index"), step.load("noise", m), step.floats("w"));
            NoiseSchedule schedule = NoiseSchedule.of(SchedulerConfig.sdxl());
            float[] losses = new float[2];
            double[] scalings = {10, 0.01};
            for (int k = 0; k < 2; k++) {
                double s = scalings[k];
                LcdStep.Config c = new LcdStep.Config(50, io.lcmlora.train.config.DistillConfig.Loss.HUBER, 0.001,
                        io.lcmlora.train.config.DistillConfig.Guidance.LCM, s);
                LcdStep lcd = new LcdStep(unet, adapters, schedule, c);
                LcdStep.Result r;
                try (io.lcmlora.nn.NoGrad ng = io.lcmlora.nn.NoGrad.open()) {
                    r = lcd.run(batch, draws, true);
                }
                long[] ddim = lcd.solver().ddimTimesteps();
                long topk = 1000 / 50;
                float[] skipStart = r.intermediates().get("c_skip_start").flatten().toFloatArray();
                float[] outStart = r.intermediates().get("c_out_start").flatten().toFloatArray();
                float[] skip = r.intermediates().get("c_skip").flatten().toFloatArray();
                float[] out = r.intermediates().get("c_out").flatten().toFloatArray();
                for (int b = 0; b < draws.index().length; b++) {
                    long tStart = ddim[(int) draws.index()[b]];
                    long t = Math.max(tStart - topk, 0);
                    assertEquals(cSkip(s, tStart), skipStart[b], 1e-6 * cSkip(s, tStart) + 1e-12, "c_skip_start s=" + s);
                    assertEquals(cOut(s, tStart), outStart[b], 1e-6, "c_out_start s=" + s);
                    assertEquals(cSkip(s, t), skip[b], 1e-6 * cSkip(s, t) + 1e-12, "c_skip s=" + s);
                    assertEquals(cOut(s, t), out[b], 1e-6, "c_out s=" + s);
                }
                losses[k] = r.loss().getFloat();
            }
            assertTrue(losses[0] != losses[1], "timestep_scaling 10 and 0.01 gave the same loss " + losses[0]);
            assertEquals(step.load("loss_huber", m).getFloat(), losses[0], Math.abs(losses[0]) * 1e-5,
                    "scaling 10 is the golden step");
        }
    }

    @Test
    void theRunConfigsTimestepScalingIsTheStepsScaling() {
        var d = io.lcmlora.train.config.TrainConfig.parse("distill: {timestep_scaling: 3.5, loss: l2, guidance_convention: imagen}")
                .distill();
        LcdStep.Config c = LcdStep.Config.of(d);
        assertEquals(3.5, c.timestepScaling());
        assertEquals(io.lcmlora.train.config.DistillConfig.Loss.L2, c.loss());
        assertEquals(io.lcmlora.train.config.DistillConfig.Guidance.IMAGEN, c.guidance());
        assertEquals(10.0, LcdStep.Config.reference().timestepScaling());
        assertEquals(6.0, c.guidance().lcmWeight(7.0));
    }

    private static double cSkip(double s, long t) {
        double x = s * t;
        return 0.25 / (x * x + 0.25);
    }

    private static double cOut(double s, long t) {
        double x = s * t;
        return x / Math.sqrt(x * x + 0.25);
    }
}
