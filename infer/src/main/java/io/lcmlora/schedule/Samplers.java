package io.lcmlora.schedule;

import ai.djl.ndarray.NDArray;
import java.util.Arrays;

/**
 * The one factory of {@link Sampler}s: the only switch over {@link SchedulerKind}, and the helpers the samplers
 * share (img2img cut, index and noise checks).
 *
 * <p>img2img strength rules: LCM and TCD with their standard schedule use LCMScheduler's own rule (all steps from
 * the lowest {@code strength} fraction of the distillation timesteps); custom timesteps, DDIM and Euler use Stable
 * Diffusion img2img's {@code get_timesteps}: the last min(floor(n * strength), n) timesteps. When a rule leaves no
 * step the error names the smallest strength that keeps one.
 */
public final class Samplers {
    private Samplers() {}

    /**
     * The sampler for {@code o} on {@code schedule} (its config supplies the defaults; {@code o.spacing()} overrides
     * the config's spacing); {@code strength} is 1 for text-to-image.
     */
    public static Sampler create(NoiseSchedule schedule, SamplerOptions o, double strength) {
        if (!(strength > 0 && strength <= 1)) {
            throw new IllegalArgumentException("img2img strength must be in (0, 1], got " + strength);
        }
        NoiseSchedule s = o.spacing() == null || o.spacing() == schedule.config().timestepSpacing() ? schedule
                : NoiseSchedule.of(schedule.config().withTimestepSpacing(o.spacing()));
        return switch (o.kind()) {
            case LCM -> o.timesteps() != null ? LcmScheduler.custom(s, o.timesteps(), strength)
                    : LcmScheduler.create(s, o.steps(), s.config().originalInferenceSteps(), strength);
            case TCD -> o.timesteps() != null ? TcdScheduler.custom(s, o.timesteps(), o.etaOrDefault(), strength)
                    : TcdScheduler.create(s, o.steps(), o.etaOrDefault(), strength);
            case DDIM -> DdimScheduler.create(s, o.steps(), o.etaOrDefault(), strength);
            case EULER -> EulerDiscreteScheduler.create(s, o.steps(), strength);
        };
    }

    /** Stable Diffusion img2img's {@code get_timesteps}: the last min(floor(n * strength), n) of {@code all}. */
    static long[] cut(long[] all, double strength, String what) {
        return Arrays.copyOfRange(all, all.length - kept(all.length, strength, what), all.length);
    }

    static double[] cut(double[] all, double strength, String what) {
        return Arrays.copyOfRange(all, all.length - kept(all.length, strength, what), all.length);
    }

    private static int kept(int n, double strength, String what) {
        if (!(strength > 0 && strength <= 1)) {
            throw new IllegalArgumentException("img2img strength must be in (0, 1], got " + strength);
        }
        int keep = Math.min((int) (n * strength), n);
        if (keep < 1) {
            throw new IllegalArgumentException("img2img strength " + strength + " with " + n + " " + what + " steps keeps no"
                    + " step (strength * steps < 1): use a strength of at least " + (1.0 / n) + " or more steps");
        }
        return keep;
    }

    static double[] asDoubles(long[] ts) {
        double[] r = new double[ts.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = ts[i];
        }
        return r;
    }

    static int checkIndex(int step, int steps) {
        if (step < 0 || step >= steps) {
            throw new IllegalArgumentException("step index " + step + " is outside the " + steps + " steps of the schedule");
        }
        return step;
    }

    /** q(x_t | x0) at the discrete timestep of step {@code step}: the add_noise of the timestep-indexed samplers. */
    static float[] addNoiseAt(NoiseSchedule schedule, long[] timesteps, float[] x0, float[] noise, int step) {
        return schedule.addNoise(x0, noise, new long[] {timesteps[checkIndex(step, timesteps.length)]});
    }

    /** {@link #addNoiseAt(NoiseSchedule, long[], float[], float[], int)} for a batch: every sample at that timestep. */
    static NDArray addNoiseAt(NoiseSchedule schedule, long[] timesteps, NDArray x0, NDArray noise, int step) {
        long[] t = new long[(int) x0.getShape().get(0)];
        Arrays.fill(t, timesteps[checkIndex(step, timesteps.length)]);
        return schedule.addNoise(x0, noise, t);
    }

    /** One float per sample, for {@link Predictions}' per-sample coefficients. */
    static float[] fill(NDArray like, float v) {
        float[] r = new float[(int) like.getShape().get(0)];
        Arrays.fill(r, v);
        return r;
    }

    static void requireNoise(Sampler s, int step, float[] noise, int length) {
        if (s.drawsNoise(step) && (noise == null || noise.length != length)) {
            throw new IllegalArgumentException(s.kind().cliName() + " step " + step + " injects noise: pass " + length
                    + " noise values");
        }
    }

    static void requireNoise(Sampler s, int step, NDArray noise, NDArray sample) {
        if (s.drawsNoise(step) && (noise == null || !noise.getShape().equals(sample.getShape()))) {
            throw new IllegalArgumentException(s.kind().cliName() + " step " + step + " injects noise: pass noise shaped "
                    + sample.getShape());
        }
    }
}
