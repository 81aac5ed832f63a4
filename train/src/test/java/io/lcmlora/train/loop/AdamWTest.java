package io.lcmlora.train.loop;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AdamWTest {
    static final double B1 = 0.9;
    static final double B2 = 0.999;
    static final double EPS = 1e-8;
    static final double WD = 0.01;

    /** torch.optim.AdamW's update, written out in double for one parameter vector. */
    static final class Reference {
        final double[] p;
        final double[] m;
        final double[] v;
        int t;

        Reference(float[] init) {
            p = new double[init.length];
            for (int i = 0; i < init.length; i++) {
                p[i] = init[i];
            }
            m = new double[init.length];
            v = new double[init.length];
        }

        void step(double lr, float[] g) {
            t++;
            double bc1 = 1 - Math.pow(B1, t);
            double bc2 = 1 - Math.pow(B2, t);
            for (int i = 0; i < p.length; i++) {
                p[i] *= 1 - lr * WD;
                m[i] = B1 * m[i] + (1 - B1) * g[i];
                v[i] = B2 * v[i] + (1 - B2) * g[i] * g[i];
                p[i] -= lr / bc1 * m[i] / (Math.sqrt(v[i]) / Math.sqrt(bc2) + EPS);
            }
        }
    }

    @Test
    void matchesTheTorchFormulaStepByStep() {
        try (NDManager nd = NDManager.newBaseManager()) {
            Rng rng = Rng.seeded(11);
            float[] a0 = new float[12];
            float[] b0 = new float[6];
            rng.fillGaussian(a0);
            rng.fillGaussian(b0);
            NDArray a = nd.create(a0, new Shape(3, 4));
            NDArray b = nd.create(b0, new Shape(6));
            Reference ra = new Reference(a0);
            Reference rb = new Reference(b0);
            Map<String, NDArray> params = new LinkedHashMap<>();
            params.put("a", a);
            params.put("b", b);
            LrSchedule lr = new LrSchedule(1e-2, io.lcmlora.train.config.OptimConfig.Schedule.COSINE, 2, 8);
            try (AdamW opt = new AdamW(params, B1, B2, EPS, WD)) {
                double maxErr = 0;
                for (int step = 0; step < 8; step++) {
                    float[] ga = new float[12];
                    float[] gb = new float[6];
                    rng.fillGaussian(ga);
                    rng.fillGaussian(gb);
                    // Tiny gradients on some entries exercise eps; a zero gradient exercises decay alone.
                    gb[0] = 1e-9f;
                    gb[1] = 0f;
                    try (NDScope scope = new NDScope()) { // the optimizer state must survive per-step scopes
                        Map<String, NDArray> grads = Map.of("a", nd.create(ga, new Shape(3, 4)), "b", nd.create(gb, new Shape(6)));
                        opt.step(lr.lr(step), grads);
                    }
                    ra.step(lr.lr(step), ga);
                    rb.step(lr.lr(step), gb);
                    maxErr = Math.max(maxErr, maxAbs(a.toFloatArray(), ra.p));
                    maxErr = Math.max(maxErr, maxAbs(b.toFloatArray(), rb.p));
                    maxErr = Math.max(maxErr, maxAbs(opt.expAvgSq("a").toFloatArray(), ra.v));
                }
                assertEquals(8, opt.steps());
                assertTrue(maxErr < 2e-6, "max |java - torch formula| = " + maxErr);
                // The first update used lr 0 (warm-up): decay and step both vanish, so only the moments moved.
            }
        }
    }

    @Test
    void stepFromOwnGradientsUpdatesThenZeroesThem() {
        try (NDManager nd = NDManager.newBaseManager()) {
            NDArray w = nd.create(new float[] {1f, -2f});
            w.setRequiresGradient(true);
            try (ai.djl.training.GradientCollector gc = ai.djl.engine.Engine.getInstance().newGradientCollector()) {
                gc.backward(w.mul(nd.create(new float[] {3f, -4f})).sum()); // grad = [3, -4]
            }
            try (AdamW opt = new AdamW(Map.of("w", w), B1, B2, EPS, 0.0)) {
                opt.step(0.1);
                // First Adam step moves each weight by lr * sign(g) (m/sqrt(v) = g/|g| after bias correction).
                assertArrayEquals(new float[] {0.9f, -1.9f}, w.toFloatArray(), 1e-6f);
                assertArrayEquals(new float[] {0f, 0f}, w.getGradient().toFloatArray());
                assertArrayEquals(new float[] {0.3f, -0.4f}, opt.expAvg("w").toFloatArray(), 1e-7f);
            }
        }
    }

    @Test
    void savedStateResumesBitIdentically(@TempDir Path dir) throws IOException {
        try (NDManager nd = NDManager.newBaseManager()) {
            float[][] runs = new float[2][];
            for (int run = 0; run < 2; run++) {
                NDArray w = nd.create(new float[] {0.5f, -1f, 2f, 0.25f}, new Shape(2, 2));
                Map<String, NDArray> params = Map.of("w", w);
                AdamW opt = new AdamW(params, B1, B2, EPS, WD);
                Rng rng = Rng.seeded(5);
                for (int step = 0; step < 6; step++) {
                    if (run == 1 && step == 3) {
                        opt.save(dir.resolve("opt.safetensors"));
                        opt.close();
                        opt = new AdamW(params, B1, B2, EPS, WD);
                        opt.load(dir.resolve("opt.safetensors"));
                        assertEquals(3, opt.steps());
                    }
                    float[] g = new float[4];
                    rng.fillGaussian(g);
                    opt.step(1e-3, Map.of("w", nd.create(g, new Shape(2, 2))));
                }
                runs[run] = w.toFloatArray();
                opt.close();
            }
            assertArrayEquals(runs[0], runs[1]);
        }
    }

    @Test
    void rejectsMismatchedState(@TempDir Path dir) throws IOException {
        try (NDManager nd = NDManager.newBaseManager()) {
            NDArray w = nd.zeros(new Shape(2, 2));
            try (AdamW opt = new AdamW(Map.of("w", w), B1, B2, EPS, WD)) {
                opt.save(dir.resolve("o.safetensors"));
            }
            try (AdamW other = new AdamW(Map.of("w", nd.zeros(new Shape(3))), B1, B2, EPS, WD)) {
                IOException e = assertThrows(IOException.class, () -> other.load(dir.resolve("o.safetensors")));
                assertTrue(e.getMessage().contains("shape"), e.getMessage());
            }
            try (AdamW other = new AdamW(Map.of("x", nd.zeros(new Shape(2, 2))), B1, B2, EPS, WD)) {
                IOException e = assertThrows(IOException.class, () -> other.load(dir.resolve("o.safetensors")));
                assertTrue(e.getMessage().contains("x.exp_avg"), e.getMessage());
            }
            assertThrows(IllegalArgumentException.class,
                    () -> new AdamW(Map.of("h", nd.zeros(new Shape(2), ai.djl.ndarray.types.DataType.FLOAT16)), B1, B2, EPS, WD));
        }
    }

    static double maxAbs(float[] a, double[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }
}
