package io.lcmlora.train.config;

import io.lcmlora.engine.DeviceSpec;
import io.lcmlora.engine.Precision;

/**
 * Device and dtypes. Frozen weights (UNet, text encoders) in {@code weights_dtype}; the VAE always fp32 (SDXL's VAE
 * sets {@code force_upcast}: it overflows in fp16); the LoRA masters and the AdamW state always fp32. With fp16 or
 * bf16 weights the LoRA computes in copies of its fp32 masters; fp16 multiplies the loss by a dynamic loss scale
 * (initial {@code loss_scale}, halved and the update skipped on an overflow, doubled after 2000 clean updates, as
 * torch's GradScaler); bf16 needs no scaling. bf16 needs the JNI built by {@code tools/build-jni.sh} (the stock DJL
 * 0.36 JNI aborts on bf16 tensors; the run refuses it there with the fix). Default: the reference's
 * {@code --mixed_precision fp16} on an automatically chosen device.
 *
 * @param device {@code auto} (the first GPU the engine sees, else the CPU), {@code cpu}, {@code gpu} or {@code gpu:N}
 * @param weightsDtype fp32, fp16 (GPU; a CPU run computes fp32) or bf16
 * @param loraDtype the LoRA masters' dtype: fp32 only
 * @param lossScale the initial fp16 loss scale, 1 to 2^24
 */
public record PrecisionConfig(String device, Precision weightsDtype, Precision loraDtype, double lossScale) {

    public PrecisionConfig {
        if (device == null) {
            throw new ConfigException("device", "must be one of " + DeviceSpec.EXPECTED);
        }
        try {
            DeviceSpec.parse(device);
        } catch (IllegalArgumentException e) {
            throw new ConfigException("device", e.getMessage());
        }
        if (weightsDtype == null) {
            throw new ConfigException("weights_dtype", "must be one of " + ConfigBinder.enumValues(Precision.class));
        }
        if (loraDtype != Precision.FP32) {
            throw new ConfigException("lora_dtype", "must be fp32: the trained LoRA weights and the AdamW moments are "
                    + "kept in fp32 (masters) whatever weights_dtype is, got "
                    + (loraDtype == null ? "null" : loraDtype.label()));
        }
        Check.closed("loss_scale", lossScale, 1, 16777216);
    }

    /** The parsed {@link #device()}. */
    public DeviceSpec deviceSpec() {
        return DeviceSpec.parse(device);
    }

    public static PrecisionConfig defaults() {
        return new PrecisionConfig("auto", Precision.FP16, Precision.FP32, 1024);
    }
}
