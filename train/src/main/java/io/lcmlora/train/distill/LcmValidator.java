package io.lcmlora.train.distill;

import io.lcmlora.model.unet.UNet2DConditionModel;
import io.lcmlora.pipeline.GeneratedImage;
import io.lcmlora.pipeline.GenerationRequest;
import io.lcmlora.pipeline.SdxlPipeline;
import io.lcmlora.schedule.SchedulerConfig;
import io.lcmlora.train.config.TrainConfig;
import io.lcmlora.train.config.ValidationConfig;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.util.List;

/**
 * Validation images with the LoRA being trained (the reference script's {@code log_validation}): every prompt of
 * {@code validation.prompts}, {@code images_per_prompt} images each, from the SDXL pipeline with the validation
 * sampler ({@code validation.scheduler}, LCM by default, and its options) in {@code validation.steps} steps at the training resolution and guidance {@code validation.guidance_scale}
 * (&lt;= 1: no CFG, as the reference), seeds {@code seed + k} every time, so successive grids differ by the LoRA
 * alone. The UNet is the training UNet itself, whose LoRA deltas stay attached. The VAE and text encoders are
 * loaded at the first validation and kept until {@link #close()}. The grid has one row per prompt.
 */
public final class LcmValidator implements AutoCloseable {
    private final TrainConfig config;
    private final SchedulerConfig scheduler;
    private ConditioningEncoder encoders;

    public LcmValidator(TrainConfig config, SchedulerConfig scheduler) {
        this.config = config;
        this.scheduler = scheduler;
    }

    /** Samples the validation prompts with the UNet as it is now (its attached LoRA included) and returns the grid. */
    public BufferedImage render(UNet2DConditionModel unet) throws IOException {
        ValidationConfig v = config.validation();
        if (encoders == null) {
            encoders = ConditioningEncoder.load(config.model(), unet.layers().values().iterator().next().weight().getDevice(),
                    unet.dtype());
        }
        int res = config.data().resolution();
        List<String> prompts = v.prompts();
        int n = v.imagesPerPrompt();
        BufferedImage grid = new BufferedImage(n * res, prompts.size() * res, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = grid.createGraphics();
        try (SdxlPipeline pipeline = new SdxlPipeline(encoders.sdxlModel(unet, scheduler))) {
            for (int p = 0; p < prompts.size(); p++) {
                List<GeneratedImage> images = pipeline.generate(request(config, prompts.get(p)));
                for (int k = 0; k < images.size(); k++) {
                    g.drawImage(images.get(k).image(), k * res, p * res, null);
                }
            }
        } finally {
            g.dispose();
        }
        return grid;
    }

    /** The pipeline request of one validation prompt. */
    static GenerationRequest request(TrainConfig config, String prompt) {
        ValidationConfig v = config.validation();
        int res = config.data().resolution();
        return GenerationRequest.of(prompt).withSampler(v.sampler()).withGuidance(v.guidanceScale())
                .withImagesPerPrompt(v.imagesPerPrompt()).withSize(res, res).withSeed(config.seed());
    }

    @Override
    public void close() {
        if (encoders != null) {
            encoders.close();
        }
    }
}
