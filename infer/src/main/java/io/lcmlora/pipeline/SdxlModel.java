package io.lcmlora.pipeline;

import ai.djl.ndarray.NDManager;
import io.lcmlora.io.ConfigJson;
import io.lcmlora.model.clip.CLIPTextModel;
import io.lcmlora.model.clip.CLIPTextModelWithProjection;
import io.lcmlora.model.clip.SdxlPromptEncoder;
import io.lcmlora.model.clip.SdxlTimeIds;
import io.lcmlora.model.unet.UNet2DConditionModel;
import io.lcmlora.model.vae.AutoencoderKL;
import io.lcmlora.schedule.SchedulerConfig;
import io.lcmlora.text.ClipTokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * An SDXL model as one object: the components of a diffusers {@code StableDiffusionXLPipeline}, each on its own
 * device and dtype ({@link LoadOptions}). {@link #load} reads a diffusers folder; any other loader (a single-file
 * checkpoint) builds the components itself and calls the canonical constructor, handing over the managers that
 * own their weights ({@link #close()} closes them).
 *
 * @param source where the model came from (folder or file), for metadata and messages
 * @param unet the denoiser
 * @param vae the autoencoder
 * @param textEncoder CLIP ViT-L ({@code text_encoder})
 * @param textEncoder2 OpenCLIP bigG with projection ({@code text_encoder_2})
 * @param tokenizer {@code tokenizer} (pads with end-of-text)
 * @param tokenizer2 {@code tokenizer_2} (pads with {@code !})
 * @param schedulerConfig the noise schedule of {@code scheduler/scheduler_config.json}
 * @param forceZerosForEmptyPrompt model_index.json's {@code force_zeros_for_empty_prompt}
 * @param placement each component's device and dtype (what the pipeline moves inputs to)
 * @param notes what the loader ignored or assumed, one line each
 * @param managers the managers holding the weights, closed by {@link #close()}
 */
public record SdxlModel(String source, UNet2DConditionModel unet, AutoencoderKL vae, CLIPTextModel textEncoder,
        CLIPTextModelWithProjection textEncoder2, ClipTokenizer tokenizer, ClipTokenizer tokenizer2,
        SchedulerConfig schedulerConfig, boolean forceZerosForEmptyPrompt, LoadOptions placement, List<String> notes,
        List<NDManager> managers) implements AutoCloseable {

    public SdxlModel {
        if (unet == null || vae == null || textEncoder == null || textEncoder2 == null || tokenizer == null
                || tokenizer2 == null || schedulerConfig == null || placement == null) {
            throw new IllegalArgumentException(source + ": every SDXL component is required");
        }
        notes = List.copyOf(notes);
        managers = List.copyOf(managers);
        // the pipeline's own consistency checks: context width, added time embedding, latent channels
        int context = textEncoder.config().hiddenSize() + textEncoder2.config().hiddenSize();
        if (unet.config().crossAttentionDim()[0] != context) {
            throw new IllegalArgumentException(source + ": the UNet's cross_attention_dim is " + unet.config().crossAttentionDim()[0]
                    + " but the text encoders' hidden sizes add up to " + context);
        }
        SdxlTimeIds.checkAddEmbedDim(unet.config().additionTimeEmbedDim(), textEncoder2.config().projectionDim(),
                unet.config().projectionClassEmbeddingsInputDim());
        if (vae.config().latentChannels() != unet.config().inChannels()) {
            throw new IllegalArgumentException(source + ": the VAE has " + vae.config().latentChannels()
                    + " latent channels, the UNet takes " + unet.config().inChannels());
        }
    }

    /**
     * Loads a diffusers SDXL folder: model_index.json is validated ({@link ModelIndex}), then unet/, vae/,
     * text_encoder/, text_encoder_2/ go to their placements, tokenizer/ and tokenizer_2/ and
     * scheduler/scheduler_config.json are read.
     */
    public static SdxlModel load(Path dir, LoadOptions options) throws IOException {
        ModelIndex index = ModelIndex.read(dir);
        List<NDManager> managers = new ArrayList<>();
        try {
            NDManager unetManager = NDManager.newBaseManager(options.unet().device());
            managers.add(unetManager);
            UNet2DConditionModel unet = UNet2DConditionModel.load(dir.resolve("unet"), options.variant(), unetManager,
                    options.unet().dtype());
            NDManager vaeManager = NDManager.newBaseManager(options.vae().device());
            managers.add(vaeManager);
            AutoencoderKL vae = AutoencoderKL.load(dir.resolve("vae"), vaeManager, options.vae().dtype());
            NDManager textManager = NDManager.newBaseManager(options.textEncoders().device());
            managers.add(textManager);
            CLIPTextModel te1 = CLIPTextModel.load(dir.resolve("text_encoder"), textManager, options.textEncoders().dtype(),
                    options.variant());
            CLIPTextModelWithProjection te2 = CLIPTextModelWithProjection.load(dir.resolve("text_encoder_2"), textManager,
                    options.textEncoders().dtype(), options.variant());
            ClipTokenizer tok1 = ClipTokenizer.load(dir.resolve("tokenizer"));
            ClipTokenizer tok2 = ClipTokenizer.load(dir.resolve("tokenizer_2"));
            SchedulerConfig scheduler = SchedulerConfig.fromJson(ConfigJson.read(dir.resolve("scheduler").resolve("scheduler_config.json")));
            return new SdxlModel(dir.toString(), unet, vae, te1, te2, tok1, tok2, scheduler, index.forceZerosForEmptyPrompt(),
                    options, index.notes(), managers);
        } catch (IOException | RuntimeException e) {
            managers.forEach(NDManager::close);
            throw e;
        }
    }

    /** The prompt encoder over this model's text encoders. */
    public SdxlPromptEncoder promptEncoder() {
        return new SdxlPromptEncoder(textEncoder, textEncoder2, forceZerosForEmptyPrompt);
    }

    /** Pixels per latent cell (SDXL: 8). */
    public int vaeScaleFactor() {
        return vae.config().downscale();
    }

    @Override
    public void close() {
        managers.forEach(NDManager::close);
    }
}
