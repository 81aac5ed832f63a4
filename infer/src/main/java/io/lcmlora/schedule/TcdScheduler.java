package io.lcmlora.schedule;

import ai.djl.ndarray.NDArray;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * diffusers 0.27.2 {@code TCDScheduler} (Trajectory Consistency Distillation, arXiv 2402.19159) for one configured
 * run. Timesteps, custom timesteps and the img2img strength rule are LCM's ({@link LcmScheduler}: the same
 * {@code set_timesteps}, original_inference_steps 50 by default; 4 steps: [999, 759, 499, 259]).
 *
 * <h2>Step, numbered as diffusers ({@code eta} is the paper's gamma, in [0, 1])</h2>
 * <ol>
 *   <li>t' = the next timestep of the schedule (0 after the last); s = floor((1 - gamma) * t') (float32
 *       product, as torch computes a long tensor times a Python float).</li>
 *   <li>a_t = alphas_cumprod[t], a_t' = alphas_cumprod[t'], a_s = alphas_cumprod[s]; b = 1 - a.</li>
 *   <li>x0 and eps from the model output ({@link Predictions}); x_s = sqrt(a_s) * x0 + sqrt(b_s) * eps (the
 *       "pred_noised_sample").</li>
 *   <li>gamma &gt; 0 and not the last step: prev = sqrt(a_t' / a_s) * x_s + sqrt(1 - a_t' / a_s) * z with fresh
 *       noise z; otherwise prev = x_s. So gamma = 0 is deterministic and one step (Hyper-SD's 1-step LoRA at
 *       gamma 1) draws no noise.</li>
 * </ol>
 */
public final class TcdScheduler implements Sampler {
    private final NoiseSchedule schedule;
    private final long[] timesteps;
    private final float gamma;
    private final double eta;

    private TcdScheduler(NoiseSchedule schedule, long[] timesteps, double eta) {
        if (!(eta >= 0 && eta <= 1)) {
            throw new IllegalArgumentException("TCD eta (gamma) must be in [0, 1], got " + eta);
        }
        this.schedule = schedule;
        this.timesteps = timesteps;
        this.eta = eta;
        this.gamma = (float) eta;
    }

    /** The standard schedule (LCM's rule) cut by {@code strength}. */
    public static TcdScheduler create(NoiseSchedule schedule, int steps, double eta, double strength) {
        return new TcdScheduler(schedule, LcmScheduler.create(schedule, steps, schedule.config().originalInferenceSteps(),
                strength).discreteTimesteps(), eta);
    }

    /** Custom timesteps (strictly decreasing, in [0, N)), cut by {@code strength} as LCM's. */
    public static TcdScheduler custom(NoiseSchedule schedule, long[] timesteps, double eta, double strength) {
        return new TcdScheduler(schedule, LcmScheduler.custom(schedule, timesteps, strength).discreteTimesteps(), eta);
    }

    @Override
    public SchedulerKind kind() {
        return SchedulerKind.TCD;
    }

    public long[] discreteTimesteps() {
        return timesteps.clone();
    }

    @Override
    public double[] timesteps() {
        return Samplers.asDoubles(timesteps);
    }

    @Override
    public float initNoiseSigma() {
        return 1f;
    }

    @Override
    public boolean drawsNoise(int step) {
        return eta > 0 && Samplers.checkIndex(step, timesteps.length) < timesteps.length - 1;
    }

    /**
     * The float32 scalars of one step.
     *
     * @param sqrtAlpha sqrt(a_t)
     * @param sqrtBeta sqrt(1 - a_t)
     * @param sqrtAlphaS sqrt(a_s)
     * @param sqrtBetaS sqrt(1 - a_s)
     * @param keep sqrt(a_t' / a_s), the weight of x_s when noise is injected
     * @param fresh sqrt(1 - a_t' / a_s), the weight of the fresh noise
     * @param noised whether this step injects noise
     * @param s the intermediate timestep s
     */
    public record Coeffs(float sqrtAlpha, float sqrtBeta, float sqrtAlphaS, float sqrtBetaS, float keep, float fresh,
            boolean noised, long s) {}

    public Coeffs coefficients(int step) {
        int i = Samplers.checkIndex(step, timesteps.length);
        // 1. t' and s
        long t = timesteps[i];
        long prevT = i + 1 < timesteps.length ? timesteps[i + 1] : 0;
        long s = (long) Math.floor((1f - gamma) * (float) prevT);
        // 2. alphas
        float a = schedule.alphaCumprod(t);
        float aPrev = schedule.alphaCumprodPrev(prevT);
        float aS = schedule.alphaCumprod(s);
        float ratio = aPrev / aS;
        return new Coeffs((float) Math.sqrt(a), (float) Math.sqrt(1f - a), (float) Math.sqrt(aS), (float) Math.sqrt(1f - aS),
                (float) Math.sqrt(ratio), (float) Math.sqrt(1f - ratio), drawsNoise(i), s);
    }

    @Override
    public float[] scaleModelInput(float[] sample, int step) {
        Samplers.checkIndex(step, timesteps.length);
        return sample;
    }

    @Override
    public NDArray scaleModelInput(NDArray sample, int step) {
        Samplers.checkIndex(step, timesteps.length);
        return sample;
    }

    @Override
    public float[] addNoise(float[] x0, float[] noise, int step) {
        return Samplers.addNoiseAt(schedule, timesteps, x0, noise, step);
    }

    @Override
    public NDArray addNoise(NDArray x0, NDArray noise, int step) {
        return Samplers.addNoiseAt(schedule, timesteps, x0, noise, step);
    }

    @Override
    public Output step(int step, float[] modelOutput, float[] sample, float[] noise) {
        Coeffs c = coefficients(step);
        Samplers.requireNoise(this, step, noise, sample.length);
        SchedulerConfig cfg = schedule.config();
        float[] a = {c.sqrtAlpha()};
        float[] b = {c.sqrtBeta()};
        // 3. x0, eps, x_s
        float[] x0 = Predictions.originalSample(cfg.predictionType(), modelOutput, sample, a, b);
        float[] eps = Predictions.noise(cfg.predictionType(), modelOutput, sample, a, b);
        float[] xs = new float[sample.length];
        for (int i = 0; i < xs.length; i++) {
            xs[i] = c.sqrtAlphaS() * x0[i] + c.sqrtBetaS() * eps[i];
        }
        // 4. noise injection
        if (!c.noised()) {
            return new Output(xs.clone(), xs);
        }
        float[] prev = new float[sample.length];
        for (int i = 0; i < prev.length; i++) {
            prev[i] = c.keep() * xs[i] + c.fresh() * noise[i];
        }
        return new Output(prev, xs);
    }

    @Override
    public NDArray step(int step, NDArray modelOutput, NDArray sample, NDArray noise) {
        Coeffs c = coefficients(step);
        Samplers.requireNoise(this, step, noise, sample);
        SchedulerConfig cfg = schedule.config();
        float[] a = Samplers.fill(sample, c.sqrtAlpha());
        float[] b = Samplers.fill(sample, c.sqrtBeta());
        // 3. x0, eps, x_s
        NDArray x0 = Predictions.originalSample(cfg.predictionType(), modelOutput, sample, a, b);
        NDArray eps = Predictions.noise(cfg.predictionType(), modelOutput, sample, a, b);
        NDArray xs;
        try (NDArray sa = Coefficients.scalar(sample, c.sqrtAlphaS()); NDArray sb = Coefficients.scalar(sample, c.sqrtBetaS())) {
            xs = x0.mul(sa).add(eps.mul(sb));
        }
        // 4. noise injection
        if (!c.noised()) {
            return xs;
        }
        try (NDArray k = Coefficients.scalar(sample, c.keep()); NDArray f = Coefficients.scalar(sample, c.fresh())) {
            return xs.mul(k).add(noise.mul(f));
        }
    }

    @Override
    public Map<String, Object> describe() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("scheduler", "tcd");
        m.put("eta", eta);
        m.put("original_inference_steps", schedule.config().originalInferenceSteps());
        return m;
    }
}
