package io.lcmlora.schedule;

/**
 * The consistency-model boundary-condition scalings {@code c_skip(t) = s^2 / ((k t)^2 + s^2)} and
 * {@code c_out(t) = k t / sqrt((k t)^2 + s^2)} with sigma_data s = 0.5, in float32 as torch evaluates them
 * (t an int64 tensor, so every intermediate is float32; {@code 0.25 / x} is torch's {@code reciprocal(x) * 0.25}).
 * At t = 0 they give c_skip = 1, c_out = 0 (the boundary condition f(x, 0) = x).
 *
 * @param cSkip weight of the noisy sample
 * @param cOut weight of the predicted x0
 */
public record BoundaryScalings(float cSkip, float cOut) {
    /** sigma_data of both the training script and LCMScheduler. */
    public static final float SIGMA_DATA = 0.5f;

    /**
     * LCMScheduler's {@code get_scalings_for_boundary_condition_discrete}: scaled t = t * timestep_scaling
     * (10 for SDXL LCM-LoRA).
     */
    public static BoundaryScalings scheduler(long t, double timestepScaling) {
        return of((float) t * (float) timestepScaling);
    }

    /**
     * The training script's {@code scalings_for_boundary_conditions(t)} (diffusers v0.25.1,
     * train_lcm_distill_lora_sdxl.py): scaled t = t / 0.1; its {@code timestep_scaling} argument is unused in that
     * version. Equal to {@link #scheduler(long, double)} with scaling 10 for every t in [0, 999] tested.
     */
    public static BoundaryScalings script(long t) {
        return of((float) t / 0.1f);
    }

    private static BoundaryScalings of(float scaled) {
        float sd2 = SIGMA_DATA * SIGMA_DATA;
        float denom = scaled * scaled + sd2;
        float cSkip = (1f / denom) * sd2;
        float cOut = scaled / (float) Math.sqrt(denom);
        return new BoundaryScalings(cSkip, cOut);
    }

    /** c_skip per sample for {@link Coefficients#column}. */
    public static float[] cSkips(BoundaryScalings[] s) {
        float[] r = new float[s.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = s[i].cSkip();
        }
        return r;
    }

    /** c_out per sample for {@link Coefficients#column}. */
    public static float[] cOuts(BoundaryScalings[] s) {
        float[] r = new float[s.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = s[i].cOut();
        }
        return r;
    }
}
