package io.lcmlora.schedule;

import ai.djl.ndarray.NDArray;
import java.util.Arrays;

/**
 * diffusers v0.25.1 (= 0.27.2 for these paths) {@code DDIMScheduler} (the teacher's baseline sampler) for one configured run: timesteps by the
 * config's spacing and the deterministic (eta = 0) or stochastic (eta &gt; 0, noise supplied) DDIM step.
 *
 * <h2>Timesteps ({@code set_timesteps}), N = num_train_timesteps, n = steps</h2>
 * <ul>
 *   <li>leading: [0, 1, ..., n-1] * (N / n), reversed, + steps_offset (SDXL, 4 steps: [751, 501, 251, 1]);</li>
 *   <li>trailing: round(numpy.arange(N, 0, -N/n)) - 1 (4 steps: [999, 749, 499, 249]); numpy's arange length
 *       rounding gives one extra value, -1, for 62 step counts (e.g. 61); it is dropped here, where diffusers
 *       would index alphas_cumprod[-1];</li>
 *   <li>linspace: round(linspace(0, N-1, n)), reversed.</li>
 * </ul>
 *
 * <h2>Step, numbered as diffusers</h2>
 * <ol>
 *   <li>prev_t = t - N / n.</li>
 *   <li>a_t = alphas_cumprod[t]; a_prev = alphas_cumprod[prev_t], or the final alpha-bar when prev_t &lt; 0.</li>
 *   <li>x0 and eps from the model output ({@link Predictions}).</li>
 *   <li>clip x0 when clip_sample.</li>
 *   <li>sigma_t = eta * sqrt((1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev)).</li>
 *   <li>direction = sqrt(1 - a_prev - sigma_t^2) * eps.</li>
 *   <li>prev = sqrt(a_prev) * x0 + direction (+ sigma_t * noise when eta &gt; 0).</li>
 * </ol>
 */
public final class DdimScheduler implements Sampler {
    private final NoiseSchedule schedule;
    private final int numInferenceSteps;
    private final long[] timesteps;
    private final double eta;

    private DdimScheduler(NoiseSchedule schedule, int numInferenceSteps, long[] timesteps, double eta) {
        this.schedule = schedule;
        this.numInferenceSteps = numInferenceSteps;
        this.timesteps = timesteps;
        this.eta = eta;
    }

    /** Text-to-image with eta 0 and the config's spacing. */
    public static DdimScheduler create(NoiseSchedule schedule, int numInferenceSteps) {
        return new DdimScheduler(schedule, numInferenceSteps, spacedTimesteps(schedule.config(), numInferenceSteps), 0);
    }

    /**
     * The config's spacing, {@code eta} for every step (noise supplied when &gt; 0), and Stable Diffusion img2img's
     * {@code get_timesteps} cut for {@code strength}: the last min(floor(n * strength), n) timesteps (prev_t keeps
     * the uncut step size N / n, as diffusers).
     */
    public static DdimScheduler create(NoiseSchedule schedule, int numInferenceSteps, double eta, double strength) {
        if (!(eta >= 0 && eta <= 1)) {
            throw new IllegalArgumentException("DDIM eta must be in [0, 1], got " + eta);
        }
        long[] all = spacedTimesteps(schedule.config(), numInferenceSteps);
        return new DdimScheduler(schedule, numInferenceSteps, Samplers.cut(all, strength, "DDIM"), eta);
    }

    /**
     * diffusers' {@code set_timesteps} for DDIM (and, as integers, Euler's leading and trailing): the config's
     * {@code timestep_spacing} as in the class comment.
     */
    public static long[] spacedTimesteps(SchedulerConfig cfg, int numInferenceSteps) {
        int n = cfg.numTrainTimesteps();
        if (numInferenceSteps < 1 || numInferenceSteps > n) {
            throw new IllegalArgumentException("num_inference_steps " + numInferenceSteps + " must be in [1, " + n + "]");
        }
        long[] ts = switch (cfg.timestepSpacing()) {
            case LEADING -> {
                long ratio = n / numInferenceSteps;
                long[] r = new long[numInferenceSteps];
                for (int i = 0; i < r.length; i++) {
                    r[i] = (numInferenceSteps - 1 - i) * ratio + cfg.stepsOffset();
                }
                yield r;
            }
            case TRAILING -> {
                double step = -(double) n / numInferenceSteps;
                int len = (int) Math.ceil((0 - n) / step);
                double delta = (n + step) - n; // numpy's arange fill: start + i * ((start + step) - start)
                long[] r = new long[len];
                int kept = 0;
                for (int i = 0; i < len; i++) {
                    long t = (long) Math.rint(n + i * delta) - 1;
                    if (t >= 0) {
                        r[kept++] = t;
                    }
                }
                yield Arrays.copyOf(r, kept);
            }
            case LINSPACE -> {
                long[] r = new long[numInferenceSteps];
                double step = numInferenceSteps == 1 ? 0 : (double) (n - 1) / (numInferenceSteps - 1);
                for (int i = 0; i < r.length; i++) {
                    double v = i == numInferenceSteps - 1 && numInferenceSteps > 1 ? n - 1 : i * step;
                    r[r.length - 1 - i] = (long) Math.rint(v);
                }
                yield r;
            }
        };
        for (long t : ts) {
            if (t >= n) {
                throw new IllegalArgumentException(numInferenceSteps + " steps with steps_offset "
                        + cfg.stepsOffset() + " reach timestep " + t + ", outside [0, " + (n - 1) + "]: use fewer steps or"
                        + " --spacing trailing");
            }
        }
        return ts;
    }

    /** The integer timesteps of the run. */
    public long[] discreteTimesteps() {
        return timesteps.clone();
    }

    @Override
    public SchedulerKind kind() {
        return SchedulerKind.DDIM;
    }

    @Override
    public double[] timesteps() {
        return Samplers.asDoubles(timesteps);
    }

    public NoiseSchedule schedule() {
        return schedule;
    }

    /** diffusers' previous timestep: t - N / steps (may be negative on the last step). */
    public long prevTimestep(long t) {
        return t - schedule.numTrainTimesteps() / numInferenceSteps;
    }

    /**
     * The float32 scalars of one step.
     *
     * @param sqrtAlpha sqrt(a_t)
     * @param sqrtBeta sqrt(1 - a_t)
     * @param sqrtAlphaPrev sqrt(a_prev)
     * @param direction sqrt(1 - a_prev - sigma_t^2), the weight of eps
     * @param sigma sigma_t (0 for eta = 0)
     */
    public record Coeffs(float sqrtAlpha, float sqrtBeta, float sqrtAlphaPrev, float direction, float sigma) {}

    public Coeffs coefficients(long t, double eta) {
        if (!(eta >= 0)) {
            throw new IllegalArgumentException("eta must be >= 0, got " + eta);
        }
        // 1. previous timestep, 2. alphas
        long prevT = prevTimestep(t);
        float a = schedule.alphaCumprod(t);
        float aPrev = schedule.alphaCumprodPrev(prevT);
        float beta = 1f - a;
        // 5. sigma_t
        float variance = ((1f - aPrev) / beta) * (1f - a / aPrev);
        float sigma = (float) eta * (float) Math.sqrt(variance);
        // 6. direction weight
        float direction = (float) Math.sqrt(1f - aPrev - sigma * sigma);
        return new Coeffs((float) Math.sqrt(a), (float) Math.sqrt(beta), (float) Math.sqrt(aPrev), direction, sigma);
    }

    /** A step's result: the previous sample and the predicted x0. */
    public record Output(float[] prevSample, float[] predOriginalSample) {}

    /** The DDIM step on flat float32 buffers; {@code noise} is required when eta &gt; 0, ignored otherwise. */
    public Output step(float[] modelOutput, long t, float[] sample, double eta, float[] noise) {
        Coeffs c = coefficients(t, eta);
        SchedulerConfig cfg = schedule.config();
        float[] a = {c.sqrtAlpha()};
        float[] b = {c.sqrtBeta()};
        // 3. x0, eps; 4. clip
        float[] x0 = Predictions.originalSample(cfg.predictionType(), modelOutput, sample, a, b);
        float[] eps = Predictions.noise(cfg.predictionType(), modelOutput, sample, a, b);
        if (cfg.clipSample()) {
            float r = (float) cfg.clipSampleRange();
            for (int i = 0; i < x0.length; i++) {
                x0[i] = Math.max(-r, Math.min(r, x0[i]));
            }
        }
        if (eta > 0 && (noise == null || noise.length != sample.length)) {
            throw new IllegalArgumentException("DDIM with eta " + eta + " needs noise of " + sample.length + " values");
        }
        // 6. direction, 7. previous sample
        float[] prev = new float[sample.length];
        for (int i = 0; i < prev.length; i++) {
            prev[i] = c.sqrtAlphaPrev() * x0[i] + c.direction() * eps[i];
            if (eta > 0) {
                prev[i] = prev[i] + c.sigma() * noise[i];
            }
        }
        return new Output(prev, x0);
    }

    /** The DDIM step with eta = 0 on engine arrays; returns the previous sample. */
    public NDArray step(NDArray modelOutput, long t, NDArray sample) {
        return step(modelOutput, t, sample, coefficients(t, 0));
    }

    /** sqrt(a_prev) * x0 + direction * eps with the given coefficients (no noise term). */
    private NDArray step(NDArray modelOutput, long t, NDArray sample, Coeffs c) {
        SchedulerConfig cfg = schedule.config();
        float[] a = new float[(int) sample.getShape().get(0)];
        float[] b = new float[a.length];
        Arrays.fill(a, c.sqrtAlpha());
        Arrays.fill(b, c.sqrtBeta());
        NDArray x0 = Predictions.originalSample(cfg.predictionType(), modelOutput, sample, a, b);
        NDArray eps = Predictions.noise(cfg.predictionType(), modelOutput, sample, a, b);
        if (cfg.clipSample()) {
            x0 = x0.clip(-cfg.clipSampleRange(), cfg.clipSampleRange());
        }
        try (NDArray sa = Coefficients.scalar(sample, c.sqrtAlphaPrev()); NDArray d = Coefficients.scalar(sample, c.direction())) {
            return x0.mul(sa).add(eps.mul(d));
        }
    }

    @Override
    public float initNoiseSigma() {
        return 1f;
    }

    @Override
    public boolean drawsNoise(int step) {
        Samplers.checkIndex(step, timesteps.length);
        return eta > 0;
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
    public Sampler.Output step(int step, float[] modelOutput, float[] sample, float[] noise) {
        Output o = step(modelOutput, timesteps[Samplers.checkIndex(step, timesteps.length)], sample, eta, noise);
        return new Sampler.Output(o.prevSample(), o.predOriginalSample());
    }

    @Override
    public NDArray step(int step, NDArray modelOutput, NDArray sample, NDArray noise) {
        long t = timesteps[Samplers.checkIndex(step, timesteps.length)];
        if (eta == 0) {
            return step(modelOutput, t, sample);
        }
        if (noise == null || !noise.getShape().equals(sample.getShape())) {
            throw new IllegalArgumentException("DDIM with eta " + eta + " needs noise shaped " + sample.getShape());
        }
        Coeffs c = coefficients(t, eta);
        try (NDArray prev = step(modelOutput, t, sample, c); NDArray s = Coefficients.scalar(sample, c.sigma())) {
            return prev.add(noise.mul(s));
        }
    }

    @Override
    public java.util.Map<String, Object> describe() {
        java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("scheduler", "ddim");
        m.put("spacing", schedule.config().timestepSpacing().name().toLowerCase(java.util.Locale.ROOT));
        m.put("eta", eta);
        return m;
    }
}
