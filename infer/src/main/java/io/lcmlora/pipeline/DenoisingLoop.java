package io.lcmlora.pipeline;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import io.lcmlora.schedule.NoiseSchedule;
import io.lcmlora.schedule.Sampler;
import io.lcmlora.schedule.SamplerOptions;
import io.lcmlora.schedule.Samplers;

/**
 * The sampling loop of the SDXL pipeline for one configured run, on the {@link Sampler} seam only: per step
 * {@code scale_model_input}, the model, {@code step} (with fresh seeded noise where the sampler draws it), each step
 * in its own {@link NDScope} so memory stays flat over the steps. The img2img strength rules are
 * {@link Samplers}'.
 */
public final class DenoisingLoop {
    /** The guided model output at a timestep (for the pipeline: the UNet with classifier-free guidance). */
    @FunctionalInterface
    public interface Denoiser {
        NDArray predict(NDArray modelInput, double timestep);
    }

    /** Fresh noise for a step ({@code step} = index in the schedule), shaped like {@code like}. */
    @FunctionalInterface
    public interface NoiseSource {
        NDArray noise(int step, NDArray like);
    }

    private final Sampler sampler;

    public DenoisingLoop(Sampler sampler) {
        this.sampler = sampler;
    }

    /** The loop for a request; {@code img2img} applies {@code strength} (text-to-image ignores it). */
    public static DenoisingLoop create(NoiseSchedule schedule, SamplerOptions options, boolean img2img, double strength) {
        return new DenoisingLoop(Samplers.create(schedule, options, img2img ? strength : 1.0));
    }

    public double[] timesteps() {
        return sampler.timesteps();
    }

    public Sampler sampler() {
        return sampler;
    }

    /**
     * Runs every step from {@code latents} (float32, already scaled by init_noise_sigma or noised by add_noise;
     * closed when replaced) and returns the final latents. Each step's temporaries are freed at the end of the step.
     */
    public NDArray run(NDArray latents, Denoiser denoiser, NoiseSource noise, Progress progress, String label) {
        double[] ts = sampler.timesteps();
        NDArray x = latents;
        progress.update(label, 0, ts.length);
        for (int i = 0; i < ts.length; i++) {
            NDArray next;
            try (NDScope scope = new NDScope()) {
                NDArray out = denoiser.predict(sampler.scaleModelInput(x, i), ts[i]);
                next = sampler.step(i, out, x, sampler.drawsNoise(i) ? noise.noise(i, x) : null);
                NDScope.unregister(next);
            }
            x.close();
            x = next;
            progress.update(label, i + 1, ts.length);
        }
        return x;
    }
}
