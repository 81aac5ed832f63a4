package io.lcmlora.schedule;

import io.lcmlora.io.ConfigJson;
import java.util.Locale;

/**
 * The fields of a diffusers {@code scheduler/scheduler_config.json} that the DDPM noise schedule, DDIM and LCM
 * use (diffusers v0.25.1 semantics). Other fields (e.g. {@code interpolation_type}, {@code use_karras_sigmas}
 * of the SDXL Euler config) are ignored, as {@code from_config} ignores them; settings this port does not
 * implement (thresholding, zero-SNR rescaling, trained betas) are rejected instead of silently ignored.
 *
 * @param numTrainTimesteps {@code num_train_timesteps}
 * @param betaStart {@code beta_start}
 * @param betaEnd {@code beta_end}
 * @param betaSchedule {@code beta_schedule}
 * @param predictionType {@code prediction_type}
 * @param setAlphaToOne {@code set_alpha_to_one}: the alpha-bar "before" t=0 is 1, else alphas_cumprod[0]
 * @param stepsOffset {@code steps_offset}, added to DDIM's "leading" timesteps
 * @param timestepSpacing {@code timestep_spacing} of DDIM (LCM ignores it)
 * @param originalInferenceSteps LCM's {@code original_inference_steps} (the distillation's DDIM step count)
 * @param timestepScaling LCM's {@code timestep_scaling} for the boundary-condition scalings
 * @param clipSample {@code clip_sample}: clamp predicted x0 to +-clipSampleRange
 * @param clipSampleRange {@code clip_sample_range}
 */
public record SchedulerConfig(
        int numTrainTimesteps,
        double betaStart,
        double betaEnd,
        BetaSchedule betaSchedule,
        PredictionType predictionType,
        boolean setAlphaToOne,
        int stepsOffset,
        TimestepSpacing timestepSpacing,
        int originalInferenceSteps,
        double timestepScaling,
        boolean clipSample,
        double clipSampleRange) {

    /** {@code beta_schedule}: {@code linear} = linspace(start, end); {@code scaled_linear} = linspace(sqrt(start), sqrt(end))^2. */
    public enum BetaSchedule {
        LINEAR, SCALED_LINEAR
    }

    /** {@code prediction_type}: what the UNet predicts. */
    public enum PredictionType {
        EPSILON, SAMPLE, V_PREDICTION
    }

    /** {@code timestep_spacing} of DDIM's set_timesteps. */
    public enum TimestepSpacing {
        LEADING, TRAILING, LINSPACE
    }

    public SchedulerConfig {
        if (numTrainTimesteps < 2) {
            throw new IllegalArgumentException("num_train_timesteps must be at least 2, got " + numTrainTimesteps);
        }
        if (!(betaStart > 0 && betaStart < betaEnd && betaEnd < 1)) {
            throw new IllegalArgumentException("betas must satisfy 0 < beta_start < beta_end < 1, got " + betaStart + ", " + betaEnd);
        }
        if (stepsOffset < 0 || stepsOffset >= numTrainTimesteps) {
            throw new IllegalArgumentException("steps_offset must be in [0, num_train_timesteps), got " + stepsOffset);
        }
        if (originalInferenceSteps < 1 || originalInferenceSteps > numTrainTimesteps) {
            throw new IllegalArgumentException("original_inference_steps must be in [1, " + numTrainTimesteps + "], got "
                    + originalInferenceSteps);
        }
        if (!(timestepScaling > 0) || !(clipSampleRange > 0)) {
            throw new IllegalArgumentException("timestep_scaling and clip_sample_range must be positive");
        }
        if (betaSchedule == null || predictionType == null || timestepSpacing == null) {
            throw new IllegalArgumentException("beta_schedule, prediction_type and timestep_spacing are required");
        }
    }

    /**
     * SDXL base 1.0 ({@code stabilityai/stable-diffusion-xl-base-1.0/scheduler/scheduler_config.json}, the config of
     * testdata/golden/schedulers) with LCMScheduler's own defaults for the LCM fields (original_inference_steps 50,
     * timestep_scaling 10, clip_sample false).
     */
    public static SchedulerConfig sdxl() {
        return new SchedulerConfig(1000, 0.00085, 0.012, BetaSchedule.SCALED_LINEAR, PredictionType.EPSILON, false, 1,
                TimestepSpacing.LEADING, 50, 10.0, false, 1.0);
    }

    /** The same config with another prediction type (v-prediction checkpoints). */
    public SchedulerConfig withPredictionType(PredictionType p) {
        return new SchedulerConfig(numTrainTimesteps, betaStart, betaEnd, betaSchedule, p, setAlphaToOne, stepsOffset,
                timestepSpacing, originalInferenceSteps, timestepScaling, clipSample, clipSampleRange);
    }

    /** The same config with another DDIM timestep spacing. */
    public SchedulerConfig withTimestepSpacing(TimestepSpacing s) {
        return new SchedulerConfig(numTrainTimesteps, betaStart, betaEnd, betaSchedule, predictionType, setAlphaToOne,
                stepsOffset, s, originalInferenceSteps, timestepScaling, clipSample, clipSampleRange);
    }

    /**
     * Reads a diffusers scheduler config. A missing field takes LCMScheduler's default (the scheduler this toolkit
     * samples with; the SDXL file sets every field that differs). Unknown fields are ignored.
     */
    public static SchedulerConfig fromJson(ConfigJson c) {
        for (String unsupported : new String[] {"thresholding", "rescale_betas_zero_snr"}) {
            if (c.getBool(unsupported, false)) {
                throw new IllegalArgumentException(c.file() + ": field '" + unsupported + "' is true, which is not supported");
            }
        }
        if (c.has("trained_betas")) {
            throw new IllegalArgumentException(c.file() + ": field 'trained_betas' is set, which is not supported (use beta_schedule)");
        }
        try {
            return new SchedulerConfig(
                    c.getInt("num_train_timesteps", 1000),
                    c.getDouble("beta_start", 0.00085),
                    c.getDouble("beta_end", 0.012),
                    parse(c, "beta_schedule", "scaled_linear", BetaSchedule.class),
                    parse(c, "prediction_type", "epsilon", PredictionType.class),
                    c.getBool("set_alpha_to_one", true),
                    c.getInt("steps_offset", 0),
                    parse(c, "timestep_spacing", "leading", TimestepSpacing.class),
                    c.getInt("original_inference_steps", 50),
                    c.getDouble("timestep_scaling", 10.0),
                    c.getBool("clip_sample", false),
                    c.getDouble("clip_sample_range", 1.0));
        } catch (IllegalArgumentException e) {
            if (e.getMessage() != null && e.getMessage().startsWith(String.valueOf(c.file()))) {
                throw e;
            }
            throw new IllegalArgumentException(c.file() + ": " + e.getMessage(), e);
        }
    }

    private static <E extends Enum<E>> E parse(ConfigJson c, String field, String def, Class<E> type) {
        String v = c.getString(field, def);
        for (E e : type.getEnumConstants()) {
            if (e.name().toLowerCase(Locale.ROOT).equals(v)) {
                return e;
            }
        }
        StringBuilder allowed = new StringBuilder();
        for (E e : type.getEnumConstants()) {
            allowed.append(allowed.length() == 0 ? "" : ", ").append(e.name().toLowerCase(Locale.ROOT));
        }
        throw new IllegalArgumentException(c.file() + ": field '" + field + "' is \"" + v + "\", expected one of " + allowed);
    }
}
