package io.lcmlora.schedule;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.schedule.SchedulerConfig.PredictionType;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/** The training script's math against ddim_solver, lcd_math and the non-UNet tensors of lcd_step. */
class DistillMathTest {
    private final NoiseSchedule sdxl = NoiseSchedule.of(SchedulerConfig.sdxl());
    private final DdimSolver solver = new DdimSolver(sdxl, 50);

    @Test
    void ddimSolverMatchesGolden() throws IOException {
        try (SafeTensorsFile g = Golden.open("schedulers/ddim_solver.safetensors"); NDManager m = NDManager.newBaseManager()) {
            assertArrayEquals(g.longs("ddim_timesteps"), solver.ddimTimesteps());
            assertArrayEquals(g.floats("ddim_alpha_cumprods"), solver.ddimAlphaCumprods());
            assertArrayEquals(g.doubles("ddim_alpha_cumprods_prev"), solver.ddimAlphaCumprodsPrev());
            long[] idx = g.longs("step_timestep_index");
            float[] x0 = g.floats("step_pred_x0");
            float[] eps = g.floats("step_pred_noise");
            double[] x64 = solver.ddimStep(x0, eps, idx);
            double err64 = Golden.maxAbsDiff(g.doubles("step_x_prev_float64"), x64);
            float[] x32 = new float[x64.length];
            for (int i = 0; i < x32.length; i++) {
                x32[i] = (float) x64[i];
            }
            Shape shape = new Shape(g.info("step_pred_x0").shape());
            NDArray nd = solver.ddimStep(m.create(x0, shape), m.create(eps, shape), idx, DataType.FLOAT32);
            NDArray nd64 = solver.ddimStep(m.create(x0, shape), m.create(eps, shape), idx, DataType.FLOAT64);
            System.out.printf("DDIMSolver: float64 max abs %.3g, float32 %d ulp, engine %d ulp%n", err64,
                    Golden.maxUlps(g.floats("step_x_prev"), x32), Golden.maxUlps(g.floats("step_x_prev"), nd.toFloatArray()));
            assertTrue(err64 < 1e-15, "float64 ddim_step " + err64);
            assertTrue(Golden.maxUlps(g.floats("step_x_prev"), x32) <= 1);
            assertTrue(Golden.maxUlps(g.floats("step_x_prev"), nd.toFloatArray()) <= 1);
            assertTrue(Golden.maxAbsDiff(g.doubles("step_x_prev_float64"), nd64.toDoubleArray()) < 1e-15);
            assertEquals(20, DdimSolver.topk(sdxl, 50));
            assertThrows(IllegalArgumentException.class, () -> solver.ddimStep(x0, eps, new long[] {50, 0}));
        }
    }

    @Test
    void boundaryScalingsMatchBothVersions() throws IOException {
        try (SafeTensorsFile g = Golden.open("schedulers/lcd_math.safetensors")) {
            long[] t = g.longs("bc_timesteps");
            float[] skip = new float[t.length];
            float[] out = new float[t.length];
            float[] sSkip = new float[t.length];
            float[] sOut = new float[t.length];
            for (int i = 0; i < t.length; i++) {
                skip[i] = BoundaryScalings.script(t[i]).cSkip();
                out[i] = BoundaryScalings.script(t[i]).cOut();
                sSkip[i] = BoundaryScalings.scheduler(t[i], 10).cSkip();
                sOut[i] = BoundaryScalings.scheduler(t[i], 10).cOut();
            }
            assertArrayEquals(g.floats("bc_c_skip"), skip);
            assertArrayEquals(g.floats("bc_c_out"), out);
            assertArrayEquals(g.floats("bc_sched_c_skip"), sSkip);
            assertArrayEquals(g.floats("bc_sched_c_out"), sOut);
        }
    }

    @Test
    void predictionsMatchGolden() throws IOException {
        try (SafeTensorsFile g = Golden.open("schedulers/lcd_math.safetensors"); NDManager m = NDManager.newBaseManager()) {
            long[] t = g.longs("pred_timesteps");
            float[] a = pick(sdxl.alphaSchedule(), t);
            float[] s = pick(sdxl.sigmaSchedule(), t);
            float[] out = g.floats("pred_model_output");
            float[] x = g.floats("pred_sample");
            assertTrue(Golden.maxUlps(g.floats("pred_x0"), Predictions.originalSample(PredictionType.EPSILON, out, x, a, s)) <= 1);
            assertArrayEquals(g.floats("pred_noise"), Predictions.noise(PredictionType.EPSILON, out, x, a, s));
            assertTrue(Golden.maxUlps(g.floats("pred_x0_v"), Predictions.originalSample(PredictionType.V_PREDICTION, out, x, a, s)) <= 1);
            assertTrue(Golden.maxUlps(g.floats("pred_noise_v"), Predictions.noise(PredictionType.V_PREDICTION, out, x, a, s)) <= 1);
            Shape shape = new Shape(g.info("pred_sample").shape());
            NDArray o = m.create(out, shape);
            NDArray xs = m.create(x, shape);
            assertTrue(Golden.maxUlps(g.floats("pred_x0"), Predictions.originalSample(PredictionType.EPSILON, o, xs, a, s).toFloatArray()) <= 1);
            assertTrue(Golden.maxUlps(g.floats("pred_x0_v"), Predictions.originalSample(PredictionType.V_PREDICTION, o, xs, a, s).toFloatArray()) <= 1);
            assertTrue(Golden.maxUlps(g.floats("pred_noise_v"), Predictions.noise(PredictionType.V_PREDICTION, o, xs, a, s).toFloatArray()) <= 1);
            // sample parameterisation inverts epsilon: eps from x0 = out gives back the noise
            float[] x0 = g.floats("pred_x0");
            float[] back = Predictions.noise(PredictionType.SAMPLE, x0, x, a, s);
            assertTrue(Golden.maxAbsDiff(out, back) < 1e-4, "sample -> eps round trip " + Golden.maxAbsDiff(out, back));
        }
    }

    /** The student's x0 is differentiated: d sum(x0) / d out = -sigma/alpha per sample, after the coefficients are closed. */
    @Test
    void engineX0IsGraphSafe() {
        try (NDManager m = NDManager.newBaseManager()) {
            long[] t = {999, 19};
            float[] a = pick(sdxl.alphaSchedule(), t);
            float[] s = pick(sdxl.sigmaSchedule(), t);
            NDArray out = m.randomNormal(new Shape(2, 3, 2, 2));
            NDArray x = m.randomNormal(new Shape(2, 3, 2, 2));
            out.setRequiresGradient(true);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray x0 = Predictions.originalSample(PredictionType.EPSILON, out, x, a, s);
                for (int i = 0; i < 3; i++) {
                    System.gc();
                }
                gc.backward(x0.sum());
            }
            float[] g = out.getGradient().toFloatArray();
            for (int i = 0; i < g.length; i++) {
                int b = i / 12;
                assertEquals(-s[b] / a[b], g[i], 1e-6 * Math.abs(s[b] / a[b]), "element " + i);
            }
        }
    }

    private static float[] pick(float[] table, long[] t) {
        float[] r = new float[t.length];
        for (int i = 0; i < t.length; i++) {
            r[i] = table[(int) t[i]];
        }
        return r;
    }

    /**
     * torch's float32 exp (SLEEF expf_u10 on the reference's AVX2 build) is not correctly rounded: 21 of the 256
     * frequencies differ from Java's by 1 ulp, which moves an argument x = w*1000*freq (up to 15000) by at most
     * w*1000*ulp(freq) + ulp(x) (about 1e-3). So each element must agree to within that argument change, plus 2
     * result ulps for sin/cos themselves.
     */
    @Test
    void guidanceEmbeddingMatchesGolden() throws IOException {
        try (SafeTensorsFile g = Golden.open("schedulers/lcd_math.safetensors"); NDManager m = NDManager.newBaseManager()) {
            float[] w = g.floats("w");
            for (String name : new String[] {"w_embedding_256", "w_embedding_512", "w_embedding_33_odd"}) {
                int dim = (int) g.info(name).shape()[1];
                int half = dim / 2;
                float[] got = GuidanceEmbedding.embed(w, dim);
                float[] want = g.floats(name);
                double err = Golden.maxAbsDiff(want, got);
                double worstRatio = 0;
                for (int b = 0; b < w.length; b++) {
                    for (int k = 0; k < half; k++) {
                        float freq = (float) Math.exp((float) k * -((float) Math.log(10000.0) / (float) (half - 1)));
                        float x = w[b] * 1000f * freq;
                        double bound = w[b] * 1000.0 * Math.ulp(freq) + Math.ulp(x) + 2 * Math.ulp(1f);
                        worstRatio = Math.max(worstRatio, Math.abs(got[b * dim + k] - want[b * dim + k]) / bound);
                        worstRatio = Math.max(worstRatio, Math.abs(got[b * dim + half + k] - want[b * dim + half + k]) / bound);
                    }
                    if (dim % 2 == 1) {
                        assertEquals(0f, got[b * dim + dim - 1]);
                    }
                }
                System.out.printf("guidance embedding %s: max abs %.3g, max error / bound = %.3f%n", name, err, worstRatio);
                assertTrue(worstRatio <= 1, name + " " + worstRatio);
                int smallArgs = 0;
                for (int k = 0; k < half; k++) {
                    // w = 1 (row 1): arguments below 1 leave no room for the argument ulp
                    if (1000f * (float) Math.exp((float) k * -((float) Math.log(10000.0) / (float) (half - 1))) < 1f) {
                        assertEquals(want[dim + k], got[dim + k], 2e-7, name + " k=" + k);
                        smallArgs++;
                    }
                }
                assertTrue(smallArgs > 0);
            }
            NDArray e = GuidanceEmbedding.embed(m, w, 256);
            assertEquals(new Shape(w.length, 256), e.getShape());
            assertArrayEquals(GuidanceEmbedding.embed(w, 256), e.toFloatArray());
        }
    }

    /** The non-UNet arithmetic of one distillation step (lcd_step): scalings, x0s, CFG, DDIM solver, target. */
    @Test
    void distillationStepArithmeticMatchesGolden() throws IOException {
        try (SafeTensorsFile g = Golden.open("lcd_step/step.safetensors")) {
            long[] index = g.longs("index");
            long[] start = g.longs("start_timesteps");
            long[] t = g.longs("timesteps");
            long topk = g.longs("topk")[0];
            assertEquals(DdimSolver.topk(sdxl, 50), topk);
            for (int b = 0; b < index.length; b++) {
                assertEquals(solver.ddimTimesteps()[(int) index[b]], start[b]);
                assertEquals(Math.max(start[b] - topk, 0), t[b]);
                assertEquals(g.floats("c_skip_start")[b], BoundaryScalings.script(start[b]).cSkip());
                assertEquals(g.floats("c_out_start")[b], BoundaryScalings.script(start[b]).cOut());
                assertEquals(g.floats("c_skip")[b], BoundaryScalings.script(t[b]).cSkip());
                assertEquals(g.floats("c_out")[b], BoundaryScalings.script(t[b]).cOut());
            }
            float[] aS = pick(sdxl.alphaSchedule(), start);
            float[] sS = pick(sdxl.sigmaSchedule(), start);
            float[] noisy = g.floats("noisy_model_input");
            long worst = 0;
            float[] condX0 = Predictions.originalSample(PredictionType.EPSILON, g.floats("teacher_cond_noise_pred"), noisy, aS, sS);
            float[] uncondX0 = Predictions.originalSample(PredictionType.EPSILON, g.floats("teacher_uncond_noise_pred"), noisy, aS, sS);
            worst = Math.max(worst, Golden.maxUlps(g.floats("teacher_cond_pred_x0"), condX0));
            worst = Math.max(worst, Golden.maxUlps(g.floats("teacher_uncond_pred_x0"), uncondX0));
            worst = Math.max(worst, Golden.maxUlps(g.floats("student_pred_x0"),
                    Predictions.originalSample(PredictionType.EPSILON, g.floats("student_noise_pred"), noisy, aS, sS)));
            double[] x64 = solver.ddimStep(g.floats("teacher_pred_x0"), g.floats("teacher_pred_noise"), index);
            double err64 = Golden.maxAbsDiff(g.doubles("x_prev_float64"), x64);
            float[] xPrev = g.floats("x_prev");
            float[] targetX0 = Predictions.originalSample(PredictionType.EPSILON, g.floats("target_noise_pred"), xPrev,
                    pick(sdxl.alphaSchedule(), t), pick(sdxl.sigmaSchedule(), t));
            worst = Math.max(worst, Golden.maxUlps(g.floats("target_pred_x0"), targetX0));
            System.out.printf("distillation step arithmetic: x0s max %d ulp, ddim_step float64 max abs %.3g%n", worst, err64);
            assertTrue(worst <= 1, "x0 ulps " + worst);
            assertTrue(err64 < 1e-15, "ddim_step " + err64);
        }
    }
}
