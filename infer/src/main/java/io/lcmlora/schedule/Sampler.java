package io.lcmlora.schedule;

import ai.djl.ndarray.NDArray;

/**
 * One configured sampling run of a scheduler: the five operations of candle's {@code Scheduler} trait
 * ({@code timesteps}, {@code add_noise}, {@code init_noise_sigma}, {@code scale_model_input}, {@code step}), with
 * the img2img strength already applied by {@link Samplers#create}. Steps are addressed by their index in
 * {@link #timesteps()} (diffusers' {@code step_index}). Flat float buffers are [B, ...] samples; engine versions take
 * any shape and keep the sample's dtype and device.
 */
public interface Sampler {
    SchedulerKind kind();

    /** The timesteps the model is called at, one per step (integral except Euler with linspace spacing). */
    double[] timesteps();

    default int steps() {
        return timesteps().length;
    }

    /** The standard deviation of the initial noise: text-to-image starts from N(0, 1) * init_noise_sigma. */
    float initNoiseSigma();

    /** Whether step {@code step} consumes fresh noise (the {@code noise} argument of {@code step}). */
    boolean drawsNoise(int step);

    /** {@code scale_model_input(sample, t_step)}: what the model sees at step {@code step}. */
    float[] scaleModelInput(float[] sample, int step);

    NDArray scaleModelInput(NDArray sample, int step);

    /** {@code add_noise(x0, noise, t_step)}: the img2img start at step {@code step} (0: the first). */
    float[] addNoise(float[] x0, float[] noise, int step);

    NDArray addNoise(NDArray x0, NDArray noise, int step);

    /** A step's result: the next sample and the scheduler's clean estimate (x0, or TCD's x_s), never null. */
    record Output(float[] prevSample, float[] predOriginalSample) {}

    /** {@code step(model_output, t_step, sample)}; {@code noise} is required exactly when {@link #drawsNoise}. */
    Output step(int step, float[] modelOutput, float[] sample, float[] noise);

    /** The step on engine arrays; returns the next sample. */
    NDArray step(int step, NDArray modelOutput, NDArray sample, NDArray noise);

    /** The settings as recorded in PNG metadata (kind, spacing, eta, ...). */
    java.util.Map<String, Object> describe();
}
