package io.lcmlora.lora;

import java.util.Collection;

/**
 * The key conventions of LoRA files for SDXL (see the golden README, lora_formats):
 * <ul>
 *   <li>{@link #PEFT}: diffusers with the PEFT backend, {@code unet.<module>.lora_A.weight} / {@code lora_B}; no
 *       alpha stored (alpha = rank). Raw PEFT dumps ({@code base_model.model.} prefix, {@code .lora_A.default.weight})
 *       are read too.</li>
 *   <li>{@link #DIFFUSERS_LEGACY}: pre-PEFT diffusers, {@code unet.<module>.lora.down.weight} / {@code lora.up}, and the
 *       attention-processor spelling {@code attn1.processor.to_q_lora.down.weight}.</li>
 *   <li>{@link #KOHYA_DIFFUSERS}: kohya-ss stems over diffusers paths, {@code lora_unet_<module with . as _>.lora_down.weight},
 *       {@code .lora_up.weight}, {@code .alpha}.</li>
 *   <li>{@link #COMFYUI}: what ComfyUI's LoRA save writes, {@code diffusion_model.<SGM path>.lora_up.weight} /
 *       {@code .lora_down.weight} (and {@code .alpha} when stored; none: alpha = rank), mapped through the same SGM
 *       layout as {@link #KOHYA_SGM}.</li>
 *   <li>{@link #KOHYA_SGM}: kohya-ss stems over the original SGM/LDM UNet paths ({@code lora_unet_input_blocks_4_1_...}),
 *       what sd-scripts writes for SDXL.</li>
 * </ul>
 */
public enum LoraFormat {
    PEFT("diffusers/PEFT (unet.<module>.lora_A/lora_B.weight, alpha = rank)"),
    DIFFUSERS_LEGACY("legacy diffusers (unet.<module>.lora.down/up.weight)"),
    KOHYA_DIFFUSERS("kohya-ss, diffusers module paths (lora_unet_<module>.lora_down/lora_up.weight + .alpha)"),
    KOHYA_SGM("kohya-ss, SGM/LDM UNet paths (lora_unet_input_blocks_..., middle_block, output_blocks)"),
    COMFYUI("ComfyUI-saved, diffusion_model.<SGM path>.lora_up/lora_down.weight (alpha optional)");

    private final String description;

    LoraFormat(String description) {
        this.description = description;
    }

    public String description() {
        return description;
    }

    /** The UNet key prefix of ComfyUI-saved LoRAs ({@code diffusion_model.input_blocks.4.1...lora_up.weight}). */
    public static final String COMFY_UNET_PREFIX = "diffusion_model.";

    public boolean isKohya() {
        return this == KOHYA_DIFFUSERS || this == KOHYA_SGM;
    }

    /**
     * The format of a set of keys, from their spelling alone: kohya when every key starts with {@code lora_}
     * (SGM when a UNet stem uses {@code input_blocks}/{@code middle_block}/{@code output_blocks}), legacy diffusers
     * when a key uses {@code lora.down}/{@code _lora.down}/{@code lora_linear_layer}, PEFT when one uses
     * {@code lora_A}/{@code lora_B}.
     *
     * @param source names the file in the error when no convention fits
     */
    public static LoraFormat detect(Collection<String> keys, String source) {
        boolean kohya = !keys.isEmpty();
        boolean sgm = false;
        boolean legacy = false;
        boolean peft = false;
        boolean comfy = !keys.isEmpty();
        for (String k : keys) {
            comfy &= k.startsWith(COMFY_UNET_PREFIX);
            kohya &= k.startsWith("lora_");
            sgm |= k.startsWith("lora_unet_input_blocks_") || k.startsWith("lora_unet_middle_block_")
                    || k.startsWith("lora_unet_output_blocks_");
            legacy |= k.endsWith(".lora.down.weight") || k.endsWith(".lora.up.weight") || k.endsWith("_lora.down.weight")
                    || k.endsWith("_lora.up.weight") || k.contains(".lora_linear_layer.");
            peft |= k.contains(".lora_A.") || k.contains(".lora_B.");
        }
        if (kohya) {
            return sgm ? KOHYA_SGM : KOHYA_DIFFUSERS;
        }
        if (comfy) {
            return COMFYUI;
        }
        if (peft) {
            return PEFT;
        }
        if (legacy) {
            return DIFFUSERS_LEGACY;
        }
        throw new LoraException(source + ": not a LoRA file: no key in any known convention (lora_A/lora_B, lora.down/lora.up, "
                + "lora_unet_*.lora_down/lora_up); first keys: " + String.join(", ", keys.stream().limit(5).toList()));
    }
}
