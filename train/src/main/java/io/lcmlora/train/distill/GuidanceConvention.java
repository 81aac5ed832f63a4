package io.lcmlora.train.distill;

/**
 * How the guidance scale w of the distillation config is read. The reference script's code applies
 * {@code cond + w * (cond - uncond)} (LCM form) while its help text describes the Imagen form
 * {@code uncond + w * (cond - uncond)}; the two differ by one: w_lcm = w_imagen - 1. The code is followed by
 * default.
 */
public enum GuidanceConvention {
    /** {@code cond + w * (cond - uncond)}: what train_lcm_distill_lora_sdxl.py computes. */
    LCM,
    /** {@code uncond + w * (cond - uncond)}: the classifier-free-guidance scale of the sampling pipelines. */
    IMAGEN;

    /** The LCM-form weight for a configured w. */
    public double lcmWeight(double w) {
        return this == LCM ? w : w - 1;
    }
}
