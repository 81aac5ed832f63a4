package io.lcmlora.schedule;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.lcmlora.io.ConfigJson;
import io.lcmlora.io.SafeTensorsFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NoiseScheduleTest {
    private final NoiseSchedule sdxl = NoiseSchedule.of(SchedulerConfig.sdxl());

    @TempDir
    Path dir;

    @Test
    void matchesGoldenScheduleBitForBit() throws IOException {
        try (SafeTensorsFile g = Golden.open("schedulers/alphas_cumprod.safetensors")) {
            assertArrayEquals(g.floats("betas"), sdxl.betas());
            assertArrayEquals(g.floats("alphas"), sdxl.alphas());
            assertArrayEquals(g.floats("alphas_cumprod"), sdxl.alphasCumprod());
            assertArrayEquals(g.floats("lcm_alphas_cumprod"), sdxl.alphasCumprod());
            assertEquals(g.floats("lcm_final_alpha_cumprod")[0], sdxl.finalAlphaCumprod());
            assertArrayEquals(g.floats("alpha_schedule"), sdxl.alphaSchedule());
            assertArrayEquals(g.floats("sigma_schedule"), sdxl.sigmaSchedule());
        }
    }

    /** Documents why the kernel emulation exists: the plain formulas are close, but not the reference's numbers. */
    @Test
    void plainFormulasDifferSlightly() throws IOException {
        float[] betas = sdxl.betas();
        double lo = Math.sqrt(0.00085);
        double hi = Math.sqrt(0.012);
        double maxDiff = 0;
        int differ = 0;
        for (int i = 0; i < 1000; i++) {
            double r = lo + i * (hi - lo) / 999;
            maxDiff = Math.max(maxDiff, Math.abs(r * r - betas[i]));
            differ += (float) (r * r) != betas[i] ? 1 : 0;
        }
        assertTrue(maxDiff < 1.81e-9, "float64 linspace^2 vs torch float32: " + maxDiff);
        assertTrue(differ > 0, "float32(float64 formula) is not the torch result");
        float[] ac = sdxl.alphasCumprod();
        float run = 1f;
        boolean same = true;
        for (int i = 0; i < 1000; i++) {
            run *= 1f - betas[i];
            same &= run == ac[i];
        }
        assertFalse(same, "a float32 running product is not what torch.cumprod gives");
        assertEquals(0.99915f, ac[0]);
        assertTrue(ac[999] > 0.0046 && ac[999] < 0.0047, "SDXL alpha-bar at t=999: " + ac[999]);
    }

    @Test
    void linearBetasAndLinspaceEndpoints() {
        SchedulerConfig lin = new SchedulerConfig(1000, 0.0001, 0.02, SchedulerConfig.BetaSchedule.LINEAR,
                SchedulerConfig.PredictionType.EPSILON, true, 0, SchedulerConfig.TimestepSpacing.LEADING, 50, 10, false, 1);
        float[] b = NoiseSchedule.of(lin).betas();
        assertEquals(0.0001f, b[0]);
        assertEquals(0.02f, b[999]);
        for (int i = 0; i < 1000; i++) {
            double r = 0.0001 + i * (0.02 - 0.0001) / 999;
            assertTrue(Math.abs(r - b[i]) <= 2 * Math.ulp(b[i]), "i=" + i);
        }
        assertEquals(1f, NoiseSchedule.of(lin).finalAlphaCumprod(), "set_alpha_to_one");
        assertArrayEquals(new float[] {2f}, NoiseSchedule.torchLinspace(2f, 5f, 1));
        assertArrayEquals(new float[] {0f, 0.5f, 1f}, NoiseSchedule.torchLinspace(0f, 1f, 3));
    }

    @Test
    void addNoiseMatchesTheDistillationStep() throws IOException {
        try (SafeTensorsFile g = Golden.open("lcd_step/step.safetensors"); NDManager m = NDManager.newBaseManager()) {
            float[] z0 = g.floats("latents");
            float[] noise = g.floats("noise");
            long[] t = g.longs("start_timesteps");
            float[] want = g.floats("noisy_model_input");
            float[] got = sdxl.addNoise(z0, noise, t);
            assertTrue(Golden.maxUlps(want, got) <= 1, "pure add_noise ulps: " + Golden.maxUlps(want, got));
            NDArray x = m.create(z0, new Shape(g.info("latents").shape()));
            NDArray n = m.create(noise, x.getShape());
            float[] nd = sdxl.addNoise(x, n, t).toFloatArray();
            assertTrue(Golden.maxUlps(want, nd) <= 1, "engine add_noise ulps: " + Golden.maxUlps(want, nd));
            assertThrows(IllegalArgumentException.class, () -> sdxl.addNoise(x, n, new long[] {1}));
            assertThrows(IllegalArgumentException.class, () -> sdxl.addNoise(z0, noise, new long[] {1000, 1}));
        }
    }

    @Test
    void configFromTheSdxlJsonEqualsThePreset() throws IOException {
        Path p = dir.resolve("scheduler_config.json");
        Files.writeString(p, """
                {"_class_name": "EulerDiscreteScheduler", "_diffusers_version": "0.19.0.dev0",
                 "beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": false,
                 "interpolation_type": "linear", "num_train_timesteps": 1000, "prediction_type": "epsilon",
                 "sample_max_value": 1.0, "set_alpha_to_one": false, "skip_prk_steps": true, "steps_offset": 1,
                 "timestep_spacing": "leading", "trained_betas": null, "use_karras_sigmas": false}
                """);
        assertEquals(SchedulerConfig.sdxl(), SchedulerConfig.fromJson(ConfigJson.read(p)));
    }

    private IllegalArgumentException badConfig(String json) throws IOException {
        Path p = dir.resolve("bad.json");
        Files.writeString(p, json);
        ConfigJson c = ConfigJson.read(p);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SchedulerConfig.fromJson(c));
        assertTrue(e.getMessage().contains(p.toString()), e.getMessage());
        return e;
    }

    @Test
    void badConfigsNameTheField() throws IOException {
        assertTrue(badConfig("{\"beta_schedule\":\"squaredcos_cap_v2\"}").getMessage().contains("'beta_schedule'"));
        assertTrue(badConfig("{\"prediction_type\":\"flow\"}").getMessage().contains("'prediction_type'"));
        assertTrue(badConfig("{\"timestep_spacing\":3}").getMessage().contains("'timestep_spacing'"));
        assertTrue(badConfig("{\"thresholding\":true}").getMessage().contains("'thresholding'"));
        assertTrue(badConfig("{\"trained_betas\":[0.1]}").getMessage().contains("'trained_betas'"));
        assertTrue(badConfig("{\"num_train_timesteps\":\"1000\"}").getMessage().contains("'num_train_timesteps'"));
        assertTrue(badConfig("{\"beta_start\":0.5,\"beta_end\":0.1}").getMessage().contains("beta_start"));
        assertTrue(badConfig("{\"original_inference_steps\":2000}").getMessage().contains("original_inference_steps"));
    }

    @Test
    void timestepOutOfRangeIsAnError() {
        assertThrows(IllegalArgumentException.class, () -> sdxl.alphaCumprod(1000));
        assertThrows(IllegalArgumentException.class, () -> sdxl.alphaCumprod(-1));
        assertEquals(sdxl.finalAlphaCumprod(), sdxl.alphaCumprodPrev(-20));
    }
}
