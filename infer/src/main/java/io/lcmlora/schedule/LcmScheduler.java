package io.lcmlora.schedule;

import ai.djl.ndarray.NDArray;
import java.util.Arrays;

/**
 * diffusers v0.25.1 {@code LCMScheduler}: the timestep schedule ({@code set_timesteps}) and the multistep
 * consistency sampling step ({@code step}), for one configured run. Immutable; {@code step} finds the step's
 * position from the timestep (the schedule is strictly decreasing, so every timestep occurs once).
 *
 * <h2>Timesteps</h2>
 * Standard schedule ({@link #create(NoiseSchedule, int, int, double)}):
 * <ol>
 *   <li>k = N / original_steps (N = num_train_timesteps; SDXL: 1000 / 50 = 20).</li>
 *   <li>origin = [1, 2, ..., floor(original_steps * strength)] * k - 1, i.e. the distillation's DDIM timesteps
 *       (19, 39, ..., 999), cut to the lowest {@code strength} fraction for img2img.</li>
 *   <li>timesteps = reversed(origin)[floor(i * len(origin) / steps)] for i in [0, steps).</li>
 * </ol>
 * e.g. 4 steps: [999, 759, 499, 259]; 4 steps at strength 0.5: [499, 379, 259, 139].
 * Custom schedule ({@link #custom}): strictly decreasing timesteps in [0, N), e.g. [999, 749, 499, 249]; img2img
 * strength keeps the last max(floor(n * strength), 0) of them (Stable Diffusion img2img's {@code get_timesteps}).
 *
 * <h2>img2img rule (strength)</h2>
 * Strength must be in (0, 1]. The schedule never silently changes the step count: when the strength leaves fewer
 * distillation timesteps (floor(original_steps * strength)) than the steps asked for, or (custom schedule) keeps
 * none of them, the factory throws an {@link IllegalArgumentException} saying how many steps fit and which strength
 * the requested count needs. This is the condition under which diffusers raises its own ValueError
 * ("The combination of original_steps x strength ... is smaller than num_inference_steps"); with custom timesteps
 * diffusers would return an empty schedule, which then crashes the pipeline. For every strength in (0, 1] and step
 * count in [1, original_steps] the result is either a valid schedule or this error.
 *
 * <h2>Step</h2>
 * Numbered as diffusers' {@code step} (float32 scalars, as torch computes its 0-dim tensors):
 * <ol>
 *   <li>prev_t = the next timestep of the schedule (the step's own t on the last step).</li>
 *   <li>a_t = alphas_cumprod[t], a_prev = alphas_cumprod[prev_t]; b = 1 - a.</li>
 *   <li>c_skip, c_out = {@link BoundaryScalings#scheduler} (t * timestep_scaling).</li>
 *   <li>x0 from the model output ({@link Predictions}).</li>
 *   <li>clip x0 when clip_sample.</li>
 *   <li>denoised = c_out * x0 + c_skip * sample.</li>
 *   <li>not the last step: prev = sqrt(a_prev) * denoised + sqrt(b_prev) * noise (fresh noise, supplied by the
 *       caller); last step: prev = denoised.</li>
 * </ol>
 * One deviation: with custom timesteps and strength &lt; 1, diffusers keeps {@code num_inference_steps} at the
 * uncut length and so injects noise on the final step; here the final step of the schedule is always the last.
 */
public final class LcmScheduler implements Sampler {
    private final NoiseSchedule schedule;
    private final long[] timesteps;

    private LcmScheduler(NoiseSchedule schedule, long[] timesteps) {
        this.schedule = schedule;
        this.timesteps = timesteps;
    }

    /** The standard schedule with the config's original_inference_steps and strength 1 (text-to-image). */
    public static LcmScheduler create(NoiseSchedule schedule, int numInferenceSteps) {
        return create(schedule, numInferenceSteps, schedule.config().originalInferenceSteps(), 1.0);
    }

    /** The standard schedule; see the class comment for the img2img rule. */
    public static LcmScheduler create(NoiseSchedule schedule, int numInferenceSteps, int originalSteps, double strength) {
        int n = schedule.numTrainTimesteps();
        checkStrength(strength);
        if (originalSteps < 1 || originalSteps > n) {
            throw new IllegalArgumentException("original_inference_steps " + originalSteps + " must be in [1, " + n + "]");
        }
        if (numInferenceSteps < 1 || numInferenceSteps > originalSteps) {
            throw new IllegalArgumentException("num_inference_steps " + numInferenceSteps + " must be in [1, " + originalSteps
                    + "] (the schedule is a subset of the " + originalSteps + " original_inference_steps)");
        }
        // 1. skipping step k, 2. the distillation timesteps kept by strength
        int k = n / originalSteps;
        int kept = (int) (originalSteps * strength);
        if (kept < numInferenceSteps) {
            throw new IllegalArgumentException("img2img strength " + strength + " keeps " + kept + " of the " + originalSteps
                    + " original LCM timesteps, fewer than the " + numInferenceSteps + " steps asked for: use at most "
                    + Math.max(kept, 1) + " step" + (Math.max(kept, 1) == 1 ? "" : "s") + (kept == 0 ? " with a higher strength" : "")
                    + ", or a strength of at least " + minStrength(numInferenceSteps, originalSteps));
        }
        long[] origin = new long[kept];
        for (int i = 0; i < kept; i++) {
            origin[kept - 1 - i] = (long) (i + 1) * k - 1; // reversed: origin[0] is the largest
        }
        // 3. evenly spaced indices, floor(linspace(0, len, steps, endpoint=False))
        long[] ts = new long[numInferenceSteps];
        double stride = (double) kept / numInferenceSteps;
        for (int i = 0; i < numInferenceSteps; i++) {
            ts[i] = origin[(int) Math.floor(i * stride)];
        }
        return new LcmScheduler(schedule, ts);
    }

    /** The smallest strength s (to 1e-6) with floor(originalSteps * s) >= steps. */
    private static double minStrength(int steps, int originalSteps) {
        double s = (double) steps / originalSteps;
        while ((int) (originalSteps * s) < steps) {
            s = Math.nextUp(s);
        }
        return Math.ceil(s * 1e6) / 1e6;
    }

    /** Custom timesteps (strictly decreasing, in [0, N)), optionally cut by img2img strength. */
    public static LcmScheduler custom(NoiseSchedule schedule, long[] timesteps, double strength) {
        checkStrength(strength);
        int n = schedule.numTrainTimesteps();
        if (timesteps.length == 0) {
            throw new IllegalArgumentException("custom timesteps are empty");
        }
        for (int i = 0; i < timesteps.length; i++) {
            if (timesteps[i] < 0 || timesteps[i] >= n) {
                throw new IllegalArgumentException("custom timestep " + timesteps[i] + " is outside [0, " + (n - 1) + "]");
            }
            if (i > 0 && timesteps[i] >= timesteps[i - 1]) {
                throw new IllegalArgumentException("custom timesteps must be strictly decreasing: " + Arrays.toString(timesteps));
            }
        }
        int init = Math.min((int) (timesteps.length * strength), timesteps.length);
        if (init < 1) {
            throw new IllegalArgumentException("img2img strength " + strength + " keeps none of the " + timesteps.length
                    + " custom timesteps " + Arrays.toString(timesteps) + ": use a strength of at least "
                    + minStrength(1, timesteps.length));
        }
        return new LcmScheduler(schedule, Arrays.copyOfRange(timesteps, timesteps.length - init, timesteps.length));
    }

    private static void checkStrength(double strength) {
        if (!(strength > 0 && strength <= 1)) {
            throw new IllegalArgumentException("img2img strength must be in (0, 1], got " + strength);
        }
    }

    /** The integer timesteps of the run. */
    public long[] discreteTimesteps() {
        return timesteps.clone();
    }

    @Override
    public SchedulerKind kind() {
        return SchedulerKind.LCM;
    }

    @Override
    public double[] timesteps() {
        return Samplers.asDoubles(timesteps);
    }

    public NoiseSchedule schedule() {
        return schedule;
    }

    /** The position of {@code t} in the schedule. */
    public int indexOf(long t) {
        for (int i = 0; i < timesteps.length; i++) {
            if (timesteps[i] == t) {
                return i;
            }
        }
        throw new IllegalArgumentException("timestep " + t + " is not in the LCM schedule " + Arrays.toString(timesteps));
    }

    /** Whether the step at {@code t} injects noise (every step but the last). */
    public boolean needsNoise(long t) {
        return indexOf(t) < timesteps.length - 1;
    }

    /**
     * The float32 scalars of one step.
     *
     * @param sqrtAlpha sqrt(a_t)
     * @param sqrtBeta sqrt(1 - a_t)
     * @param sqrtAlphaPrev sqrt(a_prev)
     * @param sqrtBetaPrev sqrt(1 - a_prev)
     * @param scalings c_skip, c_out at t
     * @param last whether this is the final step (no noise)
     */
    public record Coeffs(float sqrtAlpha, float sqrtBeta, float sqrtAlphaPrev, float sqrtBetaPrev,
            BoundaryScalings scalings, boolean last) {}

    public Coeffs coefficients(long t) {
        // 1. previous timestep
        int i = indexOf(t);
        boolean last = i == timesteps.length - 1;
        long prevT = last ? t : timesteps[i + 1];
        // 2. alphas, betas
        float a = schedule.alphaCumprod(t);
        float aPrev = schedule.alphaCumprodPrev(prevT);
        // 3. boundary scalings
        BoundaryScalings bc = BoundaryScalings.scheduler(t, schedule.config().timestepScaling());
        return new Coeffs((float) Math.sqrt(a), (float) Math.sqrt(1f - a), (float) Math.sqrt(aPrev),
                (float) Math.sqrt(1f - aPrev), bc, last);
    }

    /** A step's result: the next sample and the denoised estimate (what the last step returns). */
    public record Output(float[] prevSample, float[] denoised) {}

    /** The step on flat float32 buffers of one or more samples sharing {@code t}. */
    public Output step(float[] modelOutput, long t, float[] sample, float[] noiseOrNull) {
        Coeffs c = coefficients(t);
        SchedulerConfig cfg = schedule.config();
        requireNoise(c, t, noiseOrNull != null);
        if (noiseOrNull != null && noiseOrNull.length != sample.length) {
            throw new IllegalArgumentException("noise has " + noiseOrNull.length + " values, sample " + sample.length);
        }
        // 4. x0, 5. clip
        float[] x0 = Predictions.originalSample(cfg.predictionType(), modelOutput, sample,
                new float[] {c.sqrtAlpha()}, new float[] {c.sqrtBeta()});
        if (cfg.clipSample()) {
            float r = (float) cfg.clipSampleRange();
            for (int i = 0; i < x0.length; i++) {
                x0[i] = Math.max(-r, Math.min(r, x0[i]));
            }
        }
        // 6. denoised
        float[] denoised = new float[sample.length];
        for (int i = 0; i < denoised.length; i++) {
            denoised[i] = c.scalings().cOut() * x0[i] + c.scalings().cSkip() * sample[i];
        }
        // 7. fresh noise between steps
        if (c.last()) {
            return new Output(denoised.clone(), denoised);
        }
        float[] prev = new float[sample.length];
        for (int i = 0; i < prev.length; i++) {
            prev[i] = c.sqrtAlphaPrev() * denoised[i] + c.sqrtBetaPrev() * noiseOrNull[i];
        }
        return new Output(prev, denoised);
    }

    /** A step on engine arrays: the next sample and the denoised estimate. */
    public record NdOutput(NDArray prevSample, NDArray denoised) {}

    /** The step on engine arrays (any shape, all samples at {@code t}); scalars are torch-owned 0-dim arrays. */
    public NdOutput step(NDArray modelOutput, long t, NDArray sample, NDArray noiseOrNull) {
        Coeffs c = coefficients(t);
        SchedulerConfig cfg = schedule.config();
        requireNoise(c, t, noiseOrNull != null);
        if (noiseOrNull != null && !noiseOrNull.getShape().equals(sample.getShape())) {
            throw new IllegalArgumentException("noise shape " + noiseOrNull.getShape() + " differs from sample " + sample.getShape());
        }
        long batch = sample.getShape().get(0);
        float[] a = new float[(int) batch];
        float[] b = new float[(int) batch];
        Arrays.fill(a, c.sqrtAlpha());
        Arrays.fill(b, c.sqrtBeta());
        // 4. x0, 5. clip
        NDArray x0 = Predictions.originalSample(cfg.predictionType(), modelOutput, sample, a, b);
        if (cfg.clipSample()) {
            x0 = x0.clip(-cfg.clipSampleRange(), cfg.clipSampleRange());
        }
        // 6. denoised
        NDArray denoised;
        try (NDArray cOut = Coefficients.scalar(sample, c.scalings().cOut());
                NDArray cSkip = Coefficients.scalar(sample, c.scalings().cSkip())) {
            denoised = x0.mul(cOut).add(sample.mul(cSkip));
        }
        // 7. fresh noise between steps
        if (c.last()) {
            return new NdOutput(denoised, denoised);
        }
        try (NDArray sa = Coefficients.scalar(sample, c.sqrtAlphaPrev()); NDArray sb = Coefficients.scalar(sample, c.sqrtBetaPrev())) {
            return new NdOutput(denoised.mul(sa).add(noiseOrNull.mul(sb)), denoised);
        }
    }

    private void requireNoise(Coeffs c, long t, boolean present) {
        if (!c.last() && !present) {
            throw new IllegalArgumentException("LCM step at t=" + t + " is not the last of " + Arrays.toString(timesteps)
                    + ": pass the fresh noise to inject");
        }
    }

    @Override
    public float initNoiseSigma() {
        return 1f;
    }

    @Override
    public boolean drawsNoise(int step) {
        return Samplers.checkIndex(step, timesteps.length) < timesteps.length - 1;
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
        Output o = step(modelOutput, timesteps[Samplers.checkIndex(step, timesteps.length)], sample, noise);
        return new Sampler.Output(o.prevSample(), o.denoised());
    }

    @Override
    public NDArray step(int step, NDArray modelOutput, NDArray sample, NDArray noise) {
        NdOutput o = step(modelOutput, timesteps[Samplers.checkIndex(step, timesteps.length)], sample, noise);
        if (o.prevSample() != o.denoised()) {
            o.denoised().close();
        }
        return o.prevSample();
    }

    @Override
    public java.util.Map<String, Object> describe() {
        java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("scheduler", "lcm");
        m.put("original_inference_steps", schedule.config().originalInferenceSteps());
        return m;
    }
}
