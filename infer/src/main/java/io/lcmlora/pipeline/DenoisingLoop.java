package io.lcmlora.pipeline;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import io.lcmlora.schedule.DdimScheduler;
import io.lcmlora.schedule.LcmScheduler;
import io.lcmlora.schedule.NoiseSchedule;
import java.util.Arrays;

/**
 * The sampling loop of the SDXL pipeline for one configured run: timesteps (with the img2img strength rule) and
 * the per-step update, each step in its own {@link NDScope} so memory stays flat over the steps.
 *
 * <p>img2img strength rules:
 * <ul>
 *   <li>LCM, standard schedule: LCMScheduler's own rule ({@code set_timesteps(steps, strength=...)}, as diffusers'
 *       LCM img2img pipeline): all {@code steps} are taken from the lowest {@code strength} fraction of the
 *       distillation timesteps, so 4 steps at strength 0.5 run [499, 379, 259, 139]; when
 *       {@code floor(original_inference_steps * strength) < steps} it is an error that names the largest step count
 *       and the smallest strength that fit.</li>
 *   <li>LCM with custom timesteps, and DDIM: Stable Diffusion img2img's {@code get_timesteps}: the last
 *       {@code min(floor(steps * strength), steps)} timesteps of the full schedule; when that is 0
 *       ({@code strength * steps < 1}) it is an error that names the smallest strength that keeps one step.</li>
 * </ul>
 */
public final class DenoisingLoop {
    /** The guided model output at a timestep (for the pipeline: the UNet with classifier-free guidance). */
    @FunctionalInterface
    public interface Denoiser {
        NDArray predict(NDArray latents, long timestep);
    }

    /** Fresh noise for an LCM step ({@code step} = index in the schedule), shaped like {@code like}. */
    @FunctionalInterface
    public interface NoiseSource {
        NDArray noise(int step, NDArray like);
    }

    private final SchedulerKind kind;
    private final LcmScheduler lcm;
    private final DdimScheduler ddim;
    private final long[] timesteps;

    private DenoisingLoop(SchedulerKind kind, LcmScheduler lcm, DdimScheduler ddim, long[] timesteps) {
        this.kind = kind;
        this.lcm = lcm;
        this.ddim = ddim;
        this.timesteps = timesteps;
    }

    /**
     * The loop for a request: {@code custom} timesteps (LCM only) or {@code steps} steps; {@code strength} &lt; 1 or
     * {@code img2img} applies the strength rule of the class comment.
     */
    public static DenoisingLoop create(NoiseSchedule schedule, SchedulerKind kind, int steps, long[] custom, boolean img2img,
            double strength) {
        double s = img2img ? strength : 1.0;
        return switch (kind) {
            case LCM -> {
                LcmScheduler l = custom != null ? LcmScheduler.custom(schedule, custom, s)
                        : LcmScheduler.create(schedule, steps, schedule.config().originalInferenceSteps(), s);
                yield new DenoisingLoop(kind, l, null, l.timesteps());
            }
            case DDIM -> {
                if (custom != null) {
                    throw new IllegalArgumentException("custom timesteps need --scheduler lcm (DDIM's step size comes from"
                            + " the step count)");
                }
                DdimScheduler d = DdimScheduler.create(schedule, steps);
                long[] all = d.timesteps();
                int keep = Math.min((int) (all.length * s), all.length);
                if (keep < 1) {
                    throw new IllegalArgumentException("img2img strength " + s + " with " + all.length + " DDIM steps keeps no"
                            + " step (strength * steps < 1): use a strength of at least " + (1.0 / all.length) + " or more steps");
                }
                yield new DenoisingLoop(kind, null, d, Arrays.copyOfRange(all, all.length - keep, all.length));
            }
        };
    }

    public long[] timesteps() {
        return timesteps.clone();
    }

    public SchedulerKind kind() {
        return kind;
    }

    /**
     * Runs every step from {@code latents} (float32; closed when replaced) and returns the final latents (for LCM:
     * the last step's denoised estimate). Each step's temporaries are freed at the end of the step.
     */
    public NDArray run(NDArray latents, Denoiser denoiser, NoiseSource noise, Progress progress, String label) {
        NDArray x = latents;
        progress.update(label, 0, timesteps.length);
        for (int i = 0; i < timesteps.length; i++) {
            long t = timesteps[i];
            NDArray next;
            try (NDScope scope = new NDScope()) {
                NDArray out = denoiser.predict(x, t);
                next = switch (kind) {
                    case LCM -> lcm.step(out, t, x, lcm.needsNoise(t) ? noise.noise(i, x) : null).prevSample();
                    case DDIM -> ddim.step(out, t, x);
                };
                NDScope.unregister(next);
            }
            x.close();
            x = next;
            progress.update(label, i + 1, timesteps.length);
        }
        return x;
    }
}
