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
                    double scale = key.startsWith("grad_") ? Math.max(1, want.abs().max().getFloat()) : 1;
                    assertTrue(err <= 1e-4 * scale, key + " max abs " + err);
                }
            }
            // 18 intermediates, 2 losses, 2 x 4 stored gradients, 2 norms
            assertEquals(30, compared);
        }
    }
}
