package io.lcmlora.schedule;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.schedule.SchedulerConfig.TimestepSpacing;
import java.io.IOException;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Every case of testdata/golden/samplers/cases.safetensors (diffusers 0.27.2 TCD, Euler discrete and DDIM trailing
 * trajectories on stored model outputs and noise; see its README to regenerate): timesteps, sigmas, init_noise_sigma,
 * and per step model_input, prev_sample and pred_original_sample, each within 1e-5 relative, on the float path and on
 * the engine path, chaining the sampler's own outputs over the whole trajectory.
 */
class SamplersGoldenTest {
    static final double REL = 1e-5;

    @Test
    void everyCaseMatchesDiffusers() throws IOException {
        int cases = 0;
        try (SafeTensorsFile g = Golden.open("samplers/cases.safetensors"); NDManager m = NDManager.newBaseManager()) {
            for (Map.Entry<String, String> e : g.metadata().entrySet()) {
                if (!g.contains(e.getKey() + ".x_init")) {
                    continue;
                }
                check(g, m, e.getKey(), JsonParser.parseString(e.getValue()).getAsJsonObject());
                cases++;
            }
        }
        assertEquals(7, cases, "the README lists 7 cases");
    }

    private static void check(SafeTensorsFile g, NDManager m, String name, JsonObject meta) throws IOException {
        JsonObject cfg = meta.getAsJsonObject("config");
        SchedulerKind kind = SchedulerKind.parse(meta.get("kind").getAsString());
        int steps = meta.get("steps").getAsInt();
        JsonObject kw = meta.getAsJsonObject("step_kwargs");
        Double eta = kw.has("eta") ? kw.get("eta").getAsDouble() : null;
        TimestepSpacing spacing = SamplerOptions.parseSpacing(cfg.get("timestep_spacing").getAsString());
        assertEquals(1, cfg.get("steps_offset").getAsInt());
        assertTrue(!cfg.has("set_alpha_to_one") || !cfg.get("set_alpha_to_one").getAsBoolean());
        NoiseSchedule schedule = NoiseSchedule.of(SchedulerConfig.sdxl());
        SamplerOptions o = new SamplerOptions(kind, steps, null,
                kind == SchedulerKind.DDIM || kind == SchedulerKind.EULER ? spacing : null, eta);
        Sampler s = Samplers.create(schedule, o, 1.0);
        String p = name + ".";
        double[] ts = g.info(p + "timesteps").dtype() == io.lcmlora.io.DType.I64
                ? java.util.Arrays.stream(g.longs(p + "timesteps")).asDoubleStream().toArray() : g.doubles(p + "timesteps");
        assertArrayEquals(ts, s.timesteps(), name + " timesteps");
        assertEquals(g.floats(p + "init_noise_sigma")[0], s.initNoiseSigma(), 1e-6f * s.initNoiseSigma(), name + " init_noise_sigma");
        if (s instanceof EulerDiscreteScheduler euler) {
            close(g.floats(p + "sigmas"), euler.sigmas(), name + " sigmas");
        }
        Shape shape = new Shape(g.info(p + "x_init").shape());
        float[] x = g.floats(p + "x_init");
        NDArray xd = m.create(x, shape);
        for (int i = 0; i < steps; i++) {
            String q = p + "step" + i + ".";
            assertEquals(g.contains(q + "noise"), s.drawsNoise(i), name + " step " + i + " draws noise");
            float[] noise = g.contains(q + "noise") ? g.floats(q + "noise") : null;
            float[] out = g.floats(q + "model_output");
            close(g.floats(q + "model_input"), s.scaleModelInput(x, i), q + "model_input");
            close(g.floats(q + "model_input"), s.scaleModelInput(xd, i).toFloatArray(), q + "model_input (engine)");
            Sampler.Output r = s.step(i, out, x, noise);
            close(g.floats(q + "prev_sample"), r.prevSample(), q + "prev_sample");
            if (g.contains(q + "pred_original_sample")) {
                close(g.floats(q + "pred_original_sample"), r.predOriginalSample(), q + "pred_original_sample");
            }
            NDArray nd = s.step(i, m.create(out, shape), xd, noise == null ? null : m.create(noise, shape));
            close(g.floats(q + "prev_sample"), nd.toFloatArray(), q + "prev_sample (engine)");
            x = r.prevSample();
            xd = nd;
        }
    }

    /** |a - b| <= 1e-5 * |b| per value, with 1e-5 of the tensor's largest magnitude as the floor near zero. */
    static void close(float[] want, float[] got, String what) {
        assertEquals(want.length, got.length, what + " length");
        double scale = 0;
        for (float w : want) {
            scale = Math.max(scale, Math.abs(w));
        }
        double worst = 0;
        for (int i = 0; i < want.length; i++) {
            double err = Math.abs((double) want[i] - got[i]) / Math.max(Math.abs(want[i]), scale * 1e-2);
            worst = Math.max(worst, err);
        }
        assertTrue(worst <= REL, what + ": relative error " + worst + " > " + REL);
    }
}
