package io.lcmlora.schedule;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.lcmlora.schedule.SchedulerConfig.PredictionType;
import io.lcmlora.schedule.SchedulerConfig.TimestepSpacing;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class DdimSchedulerTest {
    private static NoiseSchedule schedule(TimestepSpacing s) {
        return NoiseSchedule.of(SchedulerConfig.sdxl().withTimestepSpacing(s));
    }

    @Test
    void timestepsForEachSpacing() {
        NoiseSchedule leading = schedule(TimestepSpacing.LEADING);
        assertArrayEquals(new long[] {751, 501, 251, 1}, DdimScheduler.create(leading, 4).discreteTimesteps());
        long[] l50 = DdimScheduler.create(leading, 50).discreteTimesteps();
        assertEquals(981, l50[0]);
        assertEquals(1, l50[49]);
        assertArrayEquals(new long[] {1}, DdimScheduler.create(leading, 1).discreteTimesteps());
        NoiseSchedule trailing = schedule(TimestepSpacing.TRAILING);
        assertArrayEquals(new long[] {999, 749, 499, 249}, DdimScheduler.create(trailing, 4).discreteTimesteps());
        assertArrayEquals(new long[] {999, 666, 332}, DdimScheduler.create(trailing, 3).discreteTimesteps(), "round(666.67)-1, round(333.33)-1");
        assertArrayEquals(new long[] {999}, DdimScheduler.create(trailing, 1).discreteTimesteps());
        for (int n = 1; n <= 1000; n++) {
            long[] ts = DdimScheduler.create(trailing, n).discreteTimesteps();
            assertEquals(n, ts.length, "trailing " + n + " (numpy's extra -1 is dropped)");
            assertEquals(999, ts[0]);
            assertTrue(ts[n - 1] >= 0);
        }
        NoiseSchedule linspace = schedule(TimestepSpacing.LINSPACE);
        assertArrayEquals(new long[] {999, 666, 333, 0}, DdimScheduler.create(linspace, 4).discreteTimesteps());
        assertArrayEquals(new long[] {999, 500, 0}, DdimScheduler.create(linspace, 3).discreteTimesteps(), "499.5 rounds half to even");
        assertThrows(IllegalArgumentException.class, () -> DdimScheduler.create(leading, 0));
        assertThrows(IllegalArgumentException.class, () -> DdimScheduler.create(leading, 1001));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DdimScheduler.create(leading, 1000));
        assertTrue(e.getMessage().contains("1000"), "leading + steps_offset 1 at 1000 steps reaches t=1000: " + e.getMessage());
    }

    /**
     * With the exact noise as model output, DDIM (eta 0) maps x_t = sqrt(a_t) x0 + sqrt(1-a_t) eps exactly onto
     * x_prev = sqrt(a_prev) x0 + sqrt(1-a_prev) eps at prev_t = t - N/n, for every parameterisation and spacing.
     * Where prev_t is the next scheduled timestep (leading; trailing with n dividing N) a whole chained run lands on
     * sqrt(a_final) x0 + sqrt(1 - a_final) eps; with linspace, diffusers' prev_t = t - N/n is off the schedule.
     */
    @Test
    void oracleModelFollowsTheClosedFormPath() {
        SplittableRandom r = new SplittableRandom(11);
        int n = 64;
        float[] x0 = new float[n];
        float[] eps = new float[n];
        for (int i = 0; i < n; i++) {
            x0[i] = (float) (r.nextDouble() * 2 - 1);
            eps[i] = (float) r.nextGaussian();
        }
        for (PredictionType p : PredictionType.values()) {
            for (TimestepSpacing sp : TimestepSpacing.values()) {
                NoiseSchedule s = NoiseSchedule.of(SchedulerConfig.sdxl().withTimestepSpacing(sp).withPredictionType(p));
                DdimScheduler ddim = DdimScheduler.create(s, 25);
                boolean chain = sp != TimestepSpacing.LINSPACE;
                float[] x = path(s.alphaCumprod(ddim.discreteTimesteps()[0]), x0, eps);
                double worst = 0;
                for (long t : ddim.discreteTimesteps()) {
                    if (!chain) {
                        x = path(s.alphaCumprod(t), x0, eps);
                    }
                    float[] out = oracle(p, s, t, x0, eps);
                    DdimScheduler.Output o = ddim.step(out, t, x, 0, null);
                    float[] want = path(s.alphaCumprodPrev(ddim.prevTimestep(t)), x0, eps);
                    worst = Math.max(worst, Golden.maxAbsDiff(want, o.prevSample()));
                    worst = Math.max(worst, Golden.maxAbsDiff(x0, o.predOriginalSample()) * Math.sqrt(s.alphaCumprod(t)));
                    x = o.prevSample();
                }
                assertTrue(worst < 1e-5, p + "/" + sp + ": " + worst);
                if (chain) {
                    assertTrue(Golden.maxAbsDiff(path(s.finalAlphaCumprod(), x0, eps), x) < 1e-5, p + "/" + sp);
                }
            }
        }
    }

    private static float[] oracle(PredictionType p, NoiseSchedule s, long t, float[] x0, float[] eps) {
        float a = (float) Math.sqrt(s.alphaCumprod(t));
        float b = (float) Math.sqrt(1f - s.alphaCumprod(t));
        float[] out = new float[x0.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = switch (p) {
                case EPSILON -> eps[i];
                case SAMPLE -> x0[i];
                case V_PREDICTION -> a * eps[i] - b * x0[i];
            };
        }
        return out;
    }

    private static float[] path(float alphaBar, float[] x0, float[] eps) {
        float[] r = new float[x0.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = (float) (Math.sqrt(alphaBar) * x0[i] + Math.sqrt(1 - alphaBar) * eps[i]);
        }
        return r;
    }

    @Test
    void engineStepEqualsPureStep() {
        DdimScheduler ddim = DdimScheduler.create(schedule(TimestepSpacing.LEADING), 4);
        SplittableRandom r = new SplittableRandom(3);
        float[] x = new float[2 * 4 * 3 * 3];
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
            out[i] = (float) r.nextGaussian();
        }
        try (NDManager m = NDManager.newBaseManager()) {
            for (long t : ddim.discreteTimesteps()) {
                float[] pure = ddim.step(out, t, x, 0, null).prevSample();
                float[] eng = ddim.step(m.create(out, new Shape(2, 4, 3, 3)), t, m.create(x, new Shape(2, 4, 3, 3))).toFloatArray();
                assertTrue(Golden.maxUlps(pure, eng) <= 1, "t=" + t);
            }
        }
    }

    /** eta > 0: sigma_t^2 = (1 - a_prev)/(1 - a_t) * (1 - a_t/a_prev), and the noise enters with weight sigma_t. */
    @Test
    void etaAddsTheDdpmVariance() {
        NoiseSchedule s = schedule(TimestepSpacing.LEADING);
        DdimScheduler ddim = DdimScheduler.create(s, 10);
        long t = ddim.discreteTimesteps()[3];
        double a = s.alphaCumprod(t);
        double ap = s.alphaCumprod(ddim.prevTimestep(t));
        double sigma = Math.sqrt((1 - ap) / (1 - a) * (1 - a / ap));
        DdimScheduler.Coeffs c = ddim.coefficients(t, 1.0);
        assertEquals(sigma, c.sigma(), 1e-6);
        assertEquals(Math.sqrt(1 - ap - sigma * sigma), c.direction(), 1e-6);
        float[] x = {0.4f};
        float[] out = {0.1f};
        float d = ddim.step(out, t, x, 1.0, new float[] {1f}).prevSample()[0] - ddim.step(out, t, x, 1.0, new float[] {0f}).prevSample()[0];
        assertEquals(sigma, d, 1e-6);
        assertThrows(IllegalArgumentException.class, () -> ddim.step(out, t, x, 0.5, null));
        assertThrows(IllegalArgumentException.class, () -> ddim.coefficients(t, -1));
        assertEquals(0f, ddim.coefficients(t, 0).sigma());
    }
}
