package io.lcmlora.train.config;

import io.lcmlora.schedule.SamplerOptions;
import io.lcmlora.schedule.SchedulerConfig.TimestepSpacing;
import io.lcmlora.schedule.SchedulerKind;
import java.util.List;

/**
 * Validation images every {@code every} optimizer steps (0 = never), logged as TensorBoard image summaries.
 * Defaults: the reference script's four prompts, 4 steps and 4 images per prompt, every 200 steps. The reference
 * passes guidance_scale 0.0; any value <= 1 disables CFG in diffusers, so 1.0 here is the same thing. The sampler is
 * LCM unless {@code scheduler} picks another ({@code tcd} for a TCD-style run), with its options ({@code timesteps}
 * for lcm/tcd, {@code spacing} for ddim/euler, {@code eta} for tcd/ddim), validated as {@link SamplerOptions}.
 */
public record ValidationConfig(int every, List<String> prompts, int steps, double guidanceScale, int imagesPerPrompt,
        SchedulerKind scheduler, @Nullable List<Long> timesteps, @Nullable TimestepSpacing spacing, @Nullable Double eta) {

    /** The validation prompts of diffusers' {@code train_lcm_distill_lora_sdxl_wds.py} ({@code log_validation}). */
    public static final List<String> REFERENCE_PROMPTS = List.of(
            "portrait photo of a girl, photograph, highly detailed face, depth of field, moody light, golden hour, "
                    + "style by Dan Winters, Russell James, Steve McCurry, centered, extremely detailed, Nikon D850, "
                    + "award winning photography",
            "Self-portrait oil painting, a beautiful cyborg with golden hair, 8k",
            "Astronaut in a jungle, cold color palette, muted colors, detailed, 8k",
            "A photo of beautiful mountain with realistic sunset and blue lake, highly detailed, masterpiece");

    public ValidationConfig {
        Check.range("every", every, 0, 1_000_000_000);
        prompts = Check.strings("prompts", prompts, true);
        if (every > 0 && prompts.isEmpty()) {
            throw new ConfigException("prompts", "must list at least one prompt when validation.every > 0");
        }
        Check.range("steps", steps, 1, 50);
        Check.closed("guidance_scale", guidanceScale, 0, 30);
        Check.range("images_per_prompt", imagesPerPrompt, 1, 64);
        if (scheduler == null) {
            throw new ConfigException("scheduler", "is required: one of " + ConfigBinder.enumValues(SchedulerKind.class));
        }
        timesteps = timesteps == null ? null : List.copyOf(timesteps);
        try {
            sampler(scheduler, steps, timesteps, spacing, eta);
        } catch (SamplerOptions.InvalidOption e) {
            throw new ConfigException(e.option(), e.getMessage());
        }
    }

    /** The validation sampler. */
    public SamplerOptions sampler() {
        return sampler(scheduler, steps, timesteps, spacing, eta);
    }

    private static SamplerOptions sampler(SchedulerKind k, int steps, List<Long> ts, TimestepSpacing spacing, Double eta) {
        SamplerOptions o = new SamplerOptions(k, steps, ts == null ? null : ts.stream().mapToLong(Long::longValue).toArray(),
                spacing, eta);
        if (ts != null && ts.size() != steps) {
            throw new ConfigException("timesteps", "lists " + ts.size() + " values; set steps to that count");
        }
        return o;
    }

    public static ValidationConfig defaults() {
        return new ValidationConfig(200, REFERENCE_PROMPTS, 4, 1.0, 4, SchedulerKind.LCM, null, null, null);
    }
}
