package io.lcmlora.train.config;

import io.lcmlora.model.unet.GradientCheckpointing;

/**
 * Latent consistency distillation settings. Defaults: diffusers {@code train_lcm_distill_lora_sdxl_wds.py} argparse
 * defaults with its README command ({@code --loss_type huber}, {@code --max_train_steps 1000},
 * {@code --train_batch_size 12}).
 *
 * <p>Guidance: w is drawn uniformly from [w_min, w_max] per sample (set them equal for a fixed w). With
 * {@link Guidance#LCM} (the default, what the reference code computes) the teacher's guided prediction is
 * {@code cond + w * (cond - uncond)}, so w = 3..15 equals diffusers/Imagen guidance scale 4..16; with
 * {@link Guidance#IMAGEN} it is {@code uncond + w * (cond - uncond)}. The reference script's help text claims the
 * Imagen form but its code uses the LCM form.
 *
 * <p>{@code gradient_checkpointing} ({@code false}, {@code true} = {@code blocks}, {@code transformer}): activation
 * checkpointing of the student pass, the one pass with gradients (see {@link GradientCheckpointing}); the gradients
 * are the same, memory falls, each step costs one more UNet forward.
 */
public record DistillConfig(
        int numDdimTimesteps,
        double wMin,
        double wMax,
        Guidance guidanceConvention,
        Loss loss,
        double huberC,
        double timestepScaling,
        int maxTrainSteps,
        int gradientAccumulationSteps,
        int trainBatchSize,
        GradientCheckpointing gradientCheckpointing) {

    public enum Guidance {
        /** {@code cond + w * (cond - uncond)}: LCM paper eq. / reference code. */
        LCM,
        /** {@code uncond + w * (cond - uncond)}: classifier-free guidance as in Imagen and diffusers pipelines. */
        IMAGEN;

        /**
         * The guided prediction's weight on (cond - uncond) when added to cond: LCM w, Imagen w - 1 (the two forms
         * differ by one: w_lcm = w_imagen - 1).
         */
        public double lcmWeight(double w) {
            return switch (this) {
                case LCM -> w;
                case IMAGEN -> w - 1;
            };
        }
    }

    public enum Loss {
        /** {@code sqrt((pred - target)^2 + c^2) - c}, mean over all elements. */
        HUBER,
        /** mean squared error. */
        L2
    }

    public DistillConfig {
        Check.range("num_ddim_timesteps", numDdimTimesteps, 1, 1000);
        Check.closed("w_min", wMin, 0, 100);
        Check.closed("w_max", wMax, 0, 100);
        if (wMax < wMin) {
            throw new ConfigException("w_max", "must be >= w_min (" + wMin + "), got " + wMax);
        }
        if (guidanceConvention == null) {
            throw new ConfigException("guidance_convention", "must be one of " + ConfigBinder.enumValues(Guidance.class));
        }
        if (loss == null) {
            throw new ConfigException("loss", "must be one of " + ConfigBinder.enumValues(Loss.class));
        }
        Check.openClosed("huber_c", huberC, 0, 10);
        Check.openClosed("timestep_scaling", timestepScaling, 0, 1e6);
        Check.range("max_train_steps", maxTrainSteps, 1, 1_000_000_000);
        Check.range("gradient_accumulation_steps", gradientAccumulationSteps, 1, 4096);
        Check.range("train_batch_size", trainBatchSize, 1, 65536);
        if (gradientCheckpointing == null) {
            throw new ConfigException("gradient_checkpointing", "must be one of false, true (= blocks), "
                    + ConfigBinder.enumValues(GradientCheckpointing.class));
        }
    }

    public static DistillConfig defaults() {
        return new DistillConfig(50, 3.0, 15.0, Guidance.LCM, Loss.HUBER, 0.001, 10.0, 1000, 1, 12, GradientCheckpointing.OFF);
    }
}
