package io.lcmlora.train.config;

import java.util.List;

/**
 * The LoRA adapter trained on the student UNet. Defaults: diffusers {@code train_lcm_distill_lora_sdxl_wds.py}
 * ({@code --lora_rank 64}, {@code --lora_alpha 64}, {@code --lora_dropout 0}, its default target list). Only
 * {@code dropout: 0} is accepted (the key exists so that recipes written for the Python script bind).
 */
public record LoraConfig(int rank, double alpha, double dropout, List<String> targetModules, Init init) {

    /** The 14 module names of the LCM-LoRA scripts: every attention/feed-forward linear and every resnet conv. */
    public static final List<String> LCM_TARGET_MODULES = List.of("to_q", "to_k", "to_v", "to_out.0", "proj_in",
            "proj_out", "ff.net.0.proj", "ff.net.2", "conv1", "conv2", "conv_shortcut", "downsamplers.0.conv",
            "upsamplers.0.conv", "time_emb_proj");

    /** Initialisation of the down (A) matrix; the up (B) matrix is always zero, so training starts at the base model. */
    public enum Init {
        /** PEFT's default ({@code init_lora_weights=True}): A ~ kaiming_uniform(a=sqrt(5)), what the LCM scripts use. */
        KAIMING_UNIFORM,
        /** PEFT's {@code "gaussian"}: A ~ N(0, 1/rank). */
        GAUSSIAN
    }

    public LoraConfig {
        Check.range("rank", rank, 1, 1024);
        Check.openClosed("alpha", alpha, 0, 65536);
        Check.closedOpen("dropout", dropout, 0, 1);
        if (dropout != 0) {
            throw new ConfigException("dropout", "must be 0: LoRA dropout is not implemented (the LCM-LoRA recipe and "
                    + "train_lcm_distill_lora_sdxl.py's default use 0), got " + dropout);
        }
        targetModules = Check.strings("target_modules", targetModules, false);
        if (init == null) {
            throw new ConfigException("init", "must be one of " + ConfigBinder.enumValues(Init.class));
        }
    }

    public static LoraConfig defaults() {
        return new LoraConfig(64, 64, 0.0, LCM_TARGET_MODULES, Init.KAIMING_UNIFORM);
    }

    /** The factor applied to B·A: alpha / rank (1.0 in the reference recipe). */
    public double scale() {
        return alpha / rank;
    }
}
