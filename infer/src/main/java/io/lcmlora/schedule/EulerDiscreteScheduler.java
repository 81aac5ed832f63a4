package io.lcmlora.schedule;

import ai.djl.ndarray.NDArray;
import io.lcmlora.schedule.SchedulerConfig.TimestepSpacing;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * diffusers 0.27.2 {@code EulerDiscreteScheduler} (linear sigma interpolation, no Karras sigmas, s_churn 0: the
 * deterministic Euler method of Karras et al.'s ODE) for one configured run.
 *
 * <h2>Schedule ({@code set_timesteps}), N = num_train_timesteps, n = steps</h2>
 * <ol>
 *   <li>timesteps: leading and trailing as DDIM ({@link DdimScheduler#spacedTimesteps}, as float32); linspace:
 *       {@code linspace(0, N - 1, n)} reversed, not rounded (fractional timesteps);</li>
 *   <li>sigma(t) = sqrt((1 - a_t) / a_t) in float32 at the N training timesteps, linearly interpolated
 *       ({@code numpy.interp}) at the timesteps; a final sigma 0 is appended;</li>
 *   <li>init_noise_sigma = max sigma for linspace and trailing spacing, sqrt(max sigma^2 + 1) for leading
 *       (diffusers' rule);</li>
 *   <li>img2img: Stable Diffusion's {@code get_timesteps} cut; the sigmas start at the same index
 *       ({@code set_begin_index}).</li>
 * </ol>
 *
 * <h2>Step i (float32, as torch)</h2>
 * <ol>
 *   <li>scale_model_input: x / sqrt(sigma_i^2 + 1);</li>
 *   <li>x0: epsilon {@code x - sigma_i * out}; sample {@code out}; v_prediction
 *       {@code out * (-sigma_i / sqrt(sigma_i^2 + 1)) + x / (sigma_i^2 + 1)};</li>
 *   <li>derivative d = (x - x0) / sigma_i; dt = sigma_{i+1} - sigma_i;</li>
 *   <li>prev = x + d * dt.</li>
 * </ol>
 * add_noise at step i: x0 + noise * sigma_i.
 */
public final class EulerDiscreteScheduler implements Sampler {
    private final NoiseSchedule schedule;
    private final double[] timesteps;
    private final float[] sigmas;
    private final float initNoiseSigma;

    private EulerDiscreteScheduler(NoiseSchedule schedule, double[] timesteps, float[] sigmas, float initNoiseSigma) {
        this.schedule = schedule;
        this.timesteps = timesteps;
        this.sigmas = sigmas;
        this.initNoiseSigma = initNoiseSigma;
    }

    /** {@code steps} steps with the config's spacing, cut by img2img {@code strength}. */
    public static EulerDiscreteScheduler create(NoiseSchedule schedule, int steps, double strength) {
        SchedulerConfig cfg = schedule.config();
        int n = schedule.numTrainTimesteps();
        // 1. timesteps
        double[] ts;
        if (cfg.timestepSpacing() == TimestepSpacing.LINSPACE) {
            if (steps < 1 || steps > n) {
                throw new IllegalArgumentException("num_inference_steps " + steps + " must be in [1, " + n + "]");
            }
            ts = new double[steps];
            double delta = steps == 1 ? 0 : (double) (n - 1) / (steps - 1);
            for (int i = 0; i < steps; i++) {
                double v = steps > 1 && i == steps - 1 ? n - 1 : i * delta;
                ts[steps - 1 - i] = (float) v;
            }
        } else {
            ts = Samplers.asDoubles(DdimScheduler.spacedTimesteps(cfg, steps));
        }
        // 2. sigmas at the training timesteps, interpolated
        float[] ac = schedule.alphasCumprod();
        float[] train = new float[n];
        for (int t = 0; t < n; t++) {
            train[t] = (float) Math.sqrt((1f - ac[t]) / ac[t]);
        }
        float[] sig = new float[ts.length + 1];
        float max = 0;
        for (int i = 0; i < ts.length; i++) {
            sig[i] = (float) interp(ts[i], train);
            max = Math.max(max, sig[i]);
        }
        // 3. init_noise_sigma
        float init = switch (cfg.timestepSpacing()) {
            case LINSPACE, TRAILING -> max;
            case LEADING -> (float) Math.sqrt(max * max + 1f);
        };
        // 4. img2img cut
        double[] kept = Samplers.cut(ts, strength, "Euler");
        int start = ts.length - kept.length;
        return new EulerDiscreteScheduler(schedule, kept, Arrays.copyOfRange(sig, start, sig.length), init);
    }

    /** {@code numpy.interp(x, arange(len(fp)), fp)} in double precision. */
    static double interp(double x, float[] fp) {
        if (x <= 0) {
            return fp[0];
        }
        if (x >= fp.length - 1) {
            return fp[fp.length - 1];
        }
        int j = (int) Math.floor(x);
        if (j == x) {
            return fp[j];
        }
        double slope = ((double) fp[j + 1] - fp[j]);
        return slope * (x - j) + fp[j];
    }

    @Override
    public SchedulerKind kind() {
        return SchedulerKind.EULER;
    }

    @Override
    public double[] timesteps() {
        return timesteps.clone();
    }

    /** The sigmas of the run, with the final 0. */
    public float[] sigmas() {
        return sigmas.clone();
    }

    @Override
    public float initNoiseSigma() {
        return initNoiseSigma;
    }

    @Override
    public boolean drawsNoise(int step) {
        Samplers.checkIndex(step, timesteps.length);
        return false;
    }

    /** sqrt(sigma_i^2 + 1), the divisor of scale_model_input. */
    private float inputDivisor(int step) {
        float s = sigmas[Samplers.checkIndex(step, timesteps.length)];
        return (float) Math.sqrt(s * s + 1f);
    }

    @Override
    public float[] scaleModelInput(float[] sample, int step) {
        float d = inputDivisor(step);
        float[] r = new float[sample.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = sample[i] / d;
        }
        return r;
    }

    @Override
    public NDArray scaleModelInput(NDArray sample, int step) {
        try (NDArray d = Coefficients.scalar(sample, inputDivisor(step))) {
            return sample.div(d);
        }
    }

    @Override
    public float[] addNoise(float[] x0, float[] noise, int step) {
        float s = sigmas[Samplers.checkIndex(step, timesteps.length)];
        if (x0.length != noise.length) {
            throw new IllegalArgumentException("add_noise: sample has " + x0.length + " values, noise " + noise.length);
        }
        float[] r = new float[x0.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = x0[i] + noise[i] * s;
        }
        return r;
    }

    @Override
    public NDArray addNoise(NDArray x0, NDArray noise, int step) {
        try (NDArray s = Coefficients.scalar(x0, sigmas[Samplers.checkIndex(step, timesteps.length)])) {
            return x0.add(noise.mul(s));
        }
    }

    @Override
    public Output step(int step, float[] modelOutput, float[] sample, float[] noise) {
        int k = Samplers.checkIndex(step, timesteps.length);
        Samplers.requireNoise(this, step, noise, sample.length);
        if (modelOutput.length != sample.length) {
            throw new IllegalArgumentException("model output has " + modelOutput.length + " values, sample " + sample.length);
        }
        float sigma = sigmas[k];
        float dt = sigmas[k + 1] - sigma;
        float vIn = (float) Math.sqrt(sigma * sigma + 1f);
        float vDen = sigma * sigma + 1f;
        float[] x0 = new float[sample.length];
        float[] prev = new float[sample.length];
        for (int i = 0; i < prev.length; i++) {
            // 2. x0
            x0[i] = switch (schedule.config().predictionType()) {
                case EPSILON -> sample[i] - sigma * modelOutput[i];
                case SAMPLE -> modelOutput[i];
                case V_PREDICTION -> modelOutput[i] * (-sigma / vIn) + sample[i] / vDen;
            };
            // 3. derivative, 4. Euler step
            float d = (sample[i] - x0[i]) / sigma;
            prev[i] = sample[i] + d * dt;
        }
        return new Output(prev, x0);
    }

    @Override
    public NDArray step(int step, NDArray modelOutput, NDArray sample, NDArray noise) {
        int k = Samplers.checkIndex(step, timesteps.length);
        Samplers.requireNoise(this, step, noise, sample);
        float sigma = sigmas[k];
        NDArray x0;
        try (NDArray s = Coefficients.scalar(sample, sigma)) {
            x0 = switch (schedule.config().predictionType()) {
                case EPSILON -> sample.sub(modelOutput.mul(s));
                case SAMPLE -> modelOutput;
                case V_PREDICTION -> {
                    try (NDArray a = Coefficients.scalar(sample, -sigma / (float) Math.sqrt(sigma * sigma + 1f));
                            NDArray b = Coefficients.scalar(sample, sigma * sigma + 1f)) {
                        yield modelOutput.mul(a).add(sample.div(b));
                    }
                }
            };
            try (NDArray dt = Coefficients.scalar(sample, sigmas[k + 1] - sigma)) {
                return sample.add(sample.sub(x0).div(s).mul(dt));
            }
        }
    }

    @Override
    public Map<String, Object> describe() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("scheduler", "euler");
        m.put("spacing", schedule.config().timestepSpacing().name().toLowerCase(Locale.ROOT));
        return m;
    }
}
