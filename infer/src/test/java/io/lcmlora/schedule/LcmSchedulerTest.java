package io.lcmlora.schedule;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.lcmlora.io.SafeTensorsFile;
import java.io.IOException;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class LcmSchedulerTest {
    private final NoiseSchedule sdxl = NoiseSchedule.of(SchedulerConfig.sdxl());

    @Test
    void timestepsMatchGolden() throws IOException {
        try (SafeTensorsFile g = Golden.open("schedulers/lcm_timesteps.safetensors")) {
            for (int c = 0; c < 4; c++) {
                int steps = (int) g.longs("case" + c + "_num_inference_steps")[0];
                int orig = (int) g.longs("case" + c + "_original_inference_steps")[0];
                assertArrayEquals(g.longs("case" + c + "_timesteps"), LcmScheduler.create(sdxl, steps, orig, 1.0).discreteTimesteps(), "case " + c);
            }
            assertArrayEquals(g.longs("strength_case_timesteps"), LcmScheduler.create(sdxl, 4, 50, 0.5).discreteTimesteps());
        }
        assertArrayEquals(new long[] {999, 759, 499, 259}, LcmScheduler.create(sdxl, 4).discreteTimesteps());
        assertArrayEquals(new long[] {999, 499}, LcmScheduler.create(sdxl, 2, 1000, 1.0).discreteTimesteps());
    }

    @Test
    void customTimestepsAndStrength() {
        long[] custom = {999, 749, 499, 249};
        assertArrayEquals(custom, LcmScheduler.custom(sdxl, custom, 1.0).discreteTimesteps());
        assertArrayEquals(new long[] {499, 249}, LcmScheduler.custom(sdxl, custom, 0.5).discreteTimesteps());
        assertArrayEquals(new long[] {249}, LcmScheduler.custom(sdxl, custom, 0.25).discreteTimesteps());
        assertArrayEquals(new long[] {499, 249}, LcmScheduler.custom(sdxl, custom, 0.74).discreteTimesteps());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LcmScheduler.custom(sdxl, custom, 0.2));
        assertTrue(e.getMessage().contains("at least 0.25"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> LcmScheduler.custom(sdxl, new long[] {999, 999}, 1));
        assertThrows(IllegalArgumentException.class, () -> LcmScheduler.custom(sdxl, new long[] {499, 999}, 1));
        assertThrows(IllegalArgumentException.class, () -> LcmScheduler.custom(sdxl, new long[] {1000, 3}, 1));
        assertThrows(IllegalArgumentException.class, () -> LcmScheduler.custom(sdxl, new long[] {5, -1}, 1));
        assertThrows(IllegalArgumentException.class, () -> LcmScheduler.custom(sdxl, new long[0], 1));
        // the last step of a cut custom schedule injects no noise
        LcmScheduler cut = LcmScheduler.custom(sdxl, custom, 0.5);
        assertTrue(cut.needsNoise(499));
        assertTrue(!cut.needsNoise(249));
    }

    /**
     * Every strength 0.01..1.00 and every step count 1..50: a valid schedule exactly when floor(50 * strength) >= steps,
     * otherwise an IllegalArgumentException that says what fits; nothing else is ever thrown.
     */
    @Test
    void img2imgGridNeverCrashes() {
        int valid = 0;
        int errors = 0;
        for (int s100 = 1; s100 <= 100; s100++) {
            double strength = s100 / 100.0;
            int kept = (int) (50 * strength);
            for (int steps = 1; steps <= 50; steps++) {
                if (kept >= steps) {
                    long[] ts = LcmScheduler.create(sdxl, steps, 50, strength).discreteTimesteps();
                    assertEquals(steps, ts.length);
                    assertTrue(ts[0] <= kept * 20L - 1 && ts[0] >= 19, "strength " + strength + " starts at " + ts[0]);
                    for (int i = 0; i < ts.length; i++) {
                        assertEquals(19, ts[i] % 20, "on the distillation grid");
                        assertTrue(i == 0 || ts[i] < ts[i - 1], "strictly decreasing " + Arrays.toString(ts));
                    }
                    valid++;
                } else {
                    final int st = steps;
                    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                            () -> LcmScheduler.create(sdxl, st, 50, strength));
                    assertTrue(e.getMessage().contains("strength " + strength) && e.getMessage().contains("keeps " + kept), e.getMessage());
                    if (kept > 0) {
                        // the advice works: that many steps, or the suggested strength
                        LcmScheduler.create(sdxl, kept, 50, strength);
                    }
                    double suggested = Double.parseDouble(e.getMessage().replaceAll(".*a strength of at least ", ""));
                    assertEquals(steps, LcmScheduler.create(sdxl, steps, 50, suggested).discreteTimesteps().length);
                    errors++;
                }
            }
        }
        assertEquals(5000, valid + errors);
        assertEquals(2499, valid, "sum over s of int(50 * s/100): 2500 in exact arithmetic, but 50 * 0.58 = 28.999999999999996");
        assertEquals(28, LcmScheduler.create(sdxl, 28, 50, 0.58).discreteTimesteps().length);
        assertThrows(IllegalArgumentException.class, () -> LcmScheduler.create(sdxl, 29, 50, 0.58), "as Python's int(50 * 0.58)");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LcmScheduler.create(sdxl, 4, 50, 0.01));
        assertTrue(e.getMessage().contains("keeps 0") && e.getMessage().contains("at least 0.08"), e.getMessage());
        for (double bad : new double[] {0, -0.5, 1.0001, Double.NaN}) {
            assertThrows(IllegalArgumentException.class, () -> LcmScheduler.create(sdxl, 4, 50, bad));
        }
        assertThrows(IllegalArgumentException.class, () -> LcmScheduler.create(sdxl, 0, 50, 1));
        assertThrows(IllegalArgumentException.class, () -> LcmScheduler.create(sdxl, 51, 50, 1));
        assertThrows(IllegalArgumentException.class, () -> LcmScheduler.create(sdxl, 4, 1001, 1));
    }

    /** The scheduler alone: stored model outputs and noises in, the whole trajectory out. */
    @Test
    void trajectoryFromStoredModelOutputsMatchesGolden() throws IOException {
        try (SafeTensorsFile g = Golden.open("schedulers/lcm_trajectory.safetensors"); NDManager m = NDManager.newBaseManager()) {
            LcmScheduler lcm = LcmScheduler.create(sdxl, 4);
            assertArrayEquals(g.longs("timesteps"), lcm.discreteTimesteps());
            Shape shape = new Shape(g.info("init_latents").shape());
            float[] x = g.floats("init_latents");
            NDArray xd = m.create(x, shape);
            long maxUlpPure = 0;
            double maxAbsEngine = 0;
            for (int i = 0; i < 4; i++) {
                long t = lcm.discreteTimesteps()[i];
                LcmScheduler.Coeffs c = lcm.coefficients(t);
                assertEquals(g.floats("step" + i + "_c_skip")[0], c.scalings().cSkip(), "c_skip step " + i);
                assertEquals(g.floats("step" + i + "_c_out")[0], c.scalings().cOut(), "c_out step " + i);
                float[] out = g.floats("step" + i + "_model_output");
                float[] noise = i < 3 ? g.floats("step" + i + "_noise") : null;
                LcmScheduler.Output o = lcm.step(out, t, x, noise);
                maxUlpPure = Math.max(maxUlpPure, Golden.maxUlps(g.floats("step" + i + "_denoised"), o.denoised()));
                maxUlpPure = Math.max(maxUlpPure, Golden.maxUlps(g.floats("step" + i + "_prev_sample"), o.prevSample()));
                LcmScheduler.NdOutput od = lcm.step(m.create(out, shape), t, xd, noise == null ? null : m.create(noise, shape));
                maxAbsEngine = Math.max(maxAbsEngine, Golden.maxAbsDiff(g.floats("step" + i + "_prev_sample"), od.prevSample().toFloatArray()));
                maxAbsEngine = Math.max(maxAbsEngine, Golden.maxAbsDiff(g.floats("step" + i + "_denoised"), od.denoised().toFloatArray()));
                // the scheduler alone: feed the golden sample of the next step, so errors cannot compound
                x = g.floats("step" + i + "_prev_sample");
                xd = m.create(x, shape);
            }
            assertArrayEquals(g.floats("final"), g.floats("step3_prev_sample"));
            System.out.printf("LCM trajectory (stored model outputs): pure max %d ulp, engine max abs %.3g%n", maxUlpPure, maxAbsEngine);
            assertTrue(maxUlpPure <= 2, "pure step ulps " + maxUlpPure);
            assertTrue(maxAbsEngine < 1e-6, "engine step " + maxAbsEngine);
        }
    }

    /** The whole loop with the README's closed-form fake model eps = 0.8 tanh(x) + 0.05 cos(t/100), chained. */
    @Test
    void trajectoryWithTheClosedFormModelMatchesGolden() throws IOException {
        try (SafeTensorsFile g = Golden.open("schedulers/lcm_trajectory.safetensors")) {
            LcmScheduler lcm = LcmScheduler.create(sdxl, 4);
            float[] x = g.floats("init_latents");
            double maxOut = 0;
            double maxX = 0;
            for (int i = 0; i < 4; i++) {
                long t = lcm.discreteTimesteps()[i];
                float bias = 0.05f * (float) Math.cos((float) t / 100f);
                float[] eps = new float[x.length];
                for (int j = 0; j < x.length; j++) {
                    eps[j] = 0.8f * (float) Math.tanh(x[j]) + bias;
                }
                maxOut = Math.max(maxOut, Golden.maxAbsDiff(g.floats("step" + i + "_model_output"), eps));
                x = lcm.step(eps, t, x, i < 3 ? g.floats("step" + i + "_noise") : null).prevSample();
                maxX = Math.max(maxX, Golden.maxAbsDiff(g.floats("step" + i + "_prev_sample"), x));
            }
            System.out.printf("LCM trajectory (closed-form model, chained): model output %.3g, samples %.3g%n", maxOut, maxX);
            assertTrue(maxOut < 1e-6, "fake model output " + maxOut);
            assertTrue(maxX < 1e-5, "chained trajectory " + maxX);
            assertTrue(Golden.maxAbsDiff(g.floats("final"), x) < 1e-5);
        }
    }

    @Test
    void stepNeedsNoiseExceptOnTheLastStep() {
        LcmScheduler lcm = LcmScheduler.create(sdxl, 2);
        float[] x = {0.5f, -1f};
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> lcm.step(x, 999, x, null));
        assertTrue(e.getMessage().contains("t=999") && e.getMessage().contains("noise"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> lcm.step(x, 999, x, new float[3]));
        assertThrows(IllegalArgumentException.class, () -> lcm.step(x, 500, x, null), "not in the schedule");
        LcmScheduler.Output last = lcm.step(x, 499, x, null);
        assertArrayEquals(last.denoised(), last.prevSample());
        // x0 is exact for the oracle eps, and at t=0 the boundary condition returns the sample itself
        LcmScheduler.Coeffs c = lcm.coefficients(499);
        assertTrue(c.last());
        assertEquals(c.sqrtAlpha(), c.sqrtAlphaPrev(), "the last step's prev_t is t itself");
        BoundaryScalings b0 = BoundaryScalings.scheduler(0, 10);
        assertEquals(1f, b0.cSkip());
        assertEquals(0f, b0.cOut());
    }

    @Test
    void vPredictionAndSampleParameterisationsRecoverX0() {
        float[] x0 = {0.3f, -0.7f, 1.2f};
        float[] eps = {1.1f, 0.2f, -0.9f};
        long t = 499;
        float a = (float) Math.sqrt(sdxl.alphaCumprod(t));
        float s = (float) Math.sqrt(1f - sdxl.alphaCumprod(t));
        float[] xt = new float[3];
        float[] v = new float[3];
        for (int i = 0; i < 3; i++) {
            xt[i] = a * x0[i] + s * eps[i];
            v[i] = a * eps[i] - s * x0[i];
        }
        for (SchedulerConfig.PredictionType p : SchedulerConfig.PredictionType.values()) {
            LcmScheduler lcm = LcmScheduler.create(NoiseSchedule.of(SchedulerConfig.sdxl().withPredictionType(p)), 2);
            float[] out = switch (p) {
                case EPSILON -> eps;
                case SAMPLE -> x0;
                case V_PREDICTION -> v;
            };
            float[] d = lcm.step(out, t, xt, null).denoised();
            BoundaryScalings bc = BoundaryScalings.scheduler(t, 10);
            for (int i = 0; i < 3; i++) {
                assertEquals(bc.cOut() * x0[i] + bc.cSkip() * xt[i], d[i], 2e-6, p + " " + i);
            }
        }
    }
}
