package io.lcmlora.pipeline;

import io.lcmlora.schedule.SamplerOptions;
import io.lcmlora.schedule.SchedulerKind;
import java.awt.image.BufferedImage;

/**
 * One prompt's generation settings (the arguments of diffusers' {@code StableDiffusionXLPipeline.__call__} that
 * this toolkit supports).
 *
 * @param prompt the prompt (both text encoders)
 * @param negativePrompt the negative prompt, or null; used only when {@code guidanceScale > 1}
 * @param seed image k of the request uses seed {@code seed + k} (see {@link GaussianNoise})
 * @param sampler the scheduler, its step count (or custom timesteps) and options
 * @param guidanceScale classifier-free guidance g: {@code uncond + g * (cond - uncond)} when g &gt; 1, no
 *     unconditional pass otherwise
 * @param width image width in pixels; 0 = the model's default (img2img: the input image's width)
 * @param height image height in pixels; 0 = as width
 * @param imagesPerPrompt images generated for this prompt (one batch)
 * @param initImage the img2img input, or null for text-to-image
 * @param strength img2img strength in (0, 1]
 */
public record GenerationRequest(String prompt, String negativePrompt, long seed, SamplerOptions sampler,
        double guidanceScale, int width, int height, int imagesPerPrompt, BufferedImage initImage, double strength) {
    /** diffusers' StableDiffusionXLImg2ImgPipeline default strength. */
    public static final double DEFAULT_STRENGTH = 0.3;

    public GenerationRequest {
        if (prompt == null) {
            throw new IllegalArgumentException("a prompt is required");
        }
        if (sampler == null) {
            throw new IllegalArgumentException("a sampler is required");
        }
        if (!(guidanceScale >= 0) || Double.isInfinite(guidanceScale)) {
            throw new IllegalArgumentException("guidance scale must be a finite number >= 0, got " + guidanceScale);
        }
        if (width < 0 || height < 0) {
            throw new IllegalArgumentException("width and height must be positive (0 = default), got " + width + "x" + height);
        }
        if (imagesPerPrompt < 1) {
            throw new IllegalArgumentException("images per prompt must be at least 1, got " + imagesPerPrompt);
        }
        if (!(strength > 0 && strength <= 1)) {
            throw new IllegalArgumentException("strength must be in (0, 1], got " + strength);
        }
    }

    /** Text-to-image with LCM defaults: 4 steps, guidance 1 (no CFG), seed 0, the model's size, one image. */
    public static GenerationRequest of(String prompt) {
        return new GenerationRequest(prompt, null, 0, SamplerOptions.of(SchedulerKind.LCM, 4), 1.0, 0, 0, 1, null,
                DEFAULT_STRENGTH);
    }

    /** The step count of the request. */
    public int steps() {
        return sampler.steps();
    }

    public GenerationRequest withNegativePrompt(String p) {
        return new GenerationRequest(prompt, p, seed, sampler, guidanceScale, width, height, imagesPerPrompt, initImage, strength);
    }

    public GenerationRequest withSeed(long s) {
        return new GenerationRequest(prompt, negativePrompt, s, sampler, guidanceScale, width, height, imagesPerPrompt, initImage,
                strength);
    }

    public GenerationRequest withSteps(int n) {
        return withSampler(sampler.withSteps(n));
    }

    public GenerationRequest withGuidance(double g) {
        return new GenerationRequest(prompt, negativePrompt, seed, sampler, g, width, height, imagesPerPrompt, initImage, strength);
    }

    /** Another scheduler with the request's step count (or {@code customTimesteps}) and its default options. */
    public GenerationRequest withScheduler(SchedulerKind s, long[] customTimesteps) {
        return withSampler(new SamplerOptions(s, sampler.steps(), customTimesteps, null, null));
    }

    public GenerationRequest withSampler(SamplerOptions o) {
        return new GenerationRequest(prompt, negativePrompt, seed, o, guidanceScale, width, height, imagesPerPrompt, initImage,
                strength);
    }

    public GenerationRequest withSize(int w, int h) {
        return new GenerationRequest(prompt, negativePrompt, seed, sampler, guidanceScale, w, h, imagesPerPrompt, initImage,
                strength);
    }

    public GenerationRequest withImagesPerPrompt(int n) {
        return new GenerationRequest(prompt, negativePrompt, seed, sampler, guidanceScale, width, height, n, initImage, strength);
    }

    public GenerationRequest withInitImage(BufferedImage image, double s) {
        return new GenerationRequest(prompt, negativePrompt, seed, sampler, guidanceScale, width, height, imagesPerPrompt, image, s);
    }

    /** Whether the unconditional pass runs (diffusers' {@code do_classifier_free_guidance}: g &gt; 1). */
    public boolean classifierFreeGuidance() {
        return guidanceScale > 1;
    }
}
