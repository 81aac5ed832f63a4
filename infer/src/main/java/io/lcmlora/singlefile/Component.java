package io.lcmlora.singlefile;

import java.util.Set;

/**
 * The models of an SDXL base single-file checkpoint: the key prefix each is stored under (the original Stability-AI
 * {@code sd_xl_base_1.0.safetensors} layout), its diffusers folder name, and the stored keys a loader may ignore.
 */
public enum Component {
    UNET("model.diffusion_model.", "unet", Set.of()),
    VAE("first_stage_model.", "vae", Set.of()),
    /** CLIP ViT-L in the transformers layout; {@code position_ids} is a buffer older transformers saved. */
    TEXT_ENCODER("conditioner.embedders.0.transformer.", "text_encoder", Set.of("text_model.embeddings.position_ids")),
    /** OpenCLIP ViT-bigG text tower; {@code logit_scale} is only used by CLIP training. */
    TEXT_ENCODER_2("conditioner.embedders.1.model.", "text_encoder_2", Set.of("logit_scale"));

    private final String prefix;
    private final String folder;
    private final Set<String> ignorable;

    Component(String prefix, String folder, Set<String> ignorable) {
        this.prefix = prefix;
        this.folder = folder;
        this.ignorable = ignorable;
    }

    /** The key prefix in the file, ending with a dot. */
    public String prefix() {
        return prefix;
    }

    /** The diffusers pipeline subfolder of this component ({@code text_encoder_2}). */
    public String folder() {
        return folder;
    }

    /** Keys under the prefix (prefix stripped) that map to no parameter and are skipped. */
    public Set<String> ignorable() {
        return ignorable;
    }
}
