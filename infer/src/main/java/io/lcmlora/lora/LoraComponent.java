package io.lcmlora.lora;

/**
 * The model a LoRA entry belongs to, with its diffusers key prefix ({@code unet.}) and kohya stem prefix
 * ({@code lora_unet_}). Module paths inside a component are the component's own checkpoint module names
 * (diffusers for the UNet, transformers for the CLIP text models).
 */
public enum LoraComponent {
    UNET("unet", "lora_unet_"),
    TEXT_ENCODER("text_encoder", "lora_te1_"),
    TEXT_ENCODER_2("text_encoder_2", "lora_te2_");

    /** SD 1.x kohya files name their single text encoder {@code lora_te_}. */
    static final String KOHYA_SINGLE_TE_PREFIX = "lora_te_";

    private final String diffusersPrefix;
    private final String kohyaPrefix;

    LoraComponent(String diffusersPrefix, String kohyaPrefix) {
        this.diffusersPrefix = diffusersPrefix;
        this.kohyaPrefix = kohyaPrefix;
    }

    /** The diffusers/PEFT key prefix without the dot ({@code unet}, {@code text_encoder}, {@code text_encoder_2}). */
    public String diffusersPrefix() {
        return diffusersPrefix;
    }

    /** The kohya stem prefix with its trailing underscore ({@code lora_unet_}, {@code lora_te1_}, {@code lora_te2_}). */
    public String kohyaPrefix() {
        return kohyaPrefix;
    }

    public boolean isTextEncoder() {
        return this != UNET;
    }
}
