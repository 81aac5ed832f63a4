package io.lcmlora.train.config;

/**
 * Device and dtypes. Frozen weights (UNet, VAE, text encoders) in {@code weights_dtype}; the LoRA weights and the
 * AdamW state always fp32 (with fp16 weights the LoRA is computed in fp16 copies of fp32 masters, with a static
 * {@code loss_scale}). bf16 is rejected: DJL 0.36's PyTorch JNI has no bfloat16 case in its dtype switch, and any
 * bf16 tensor aborts the JVM. Default: the reference's {@code --mixed_precision fp16} on an automatically chosen device.
 */
public record PrecisionConfig(Device device, Dtype weightsDtype, Dtype loraDtype, double lossScale) {

    public enum Device {
        /** A GPU when the engine sees one, else the CPU. */
        AUTO,
        CPU,
        GPU
    }

    public enum Dtype {
        FP32,
        FP16,
        BF16
    }

    static final String BF16_MESSAGE = "bf16 is not supported: DJL 0.36 aborts the JVM on any bfloat16 tensor "
            + "(its PyTorch JNI dtype switch has no BFLOAT16 case); use fp16 on a GPU or fp32";

    public PrecisionConfig {
        if (device == null) {
            throw new ConfigException("device", "must be one of " + ConfigBinder.enumValues(Device.class));
        }
        if (weightsDtype == null) {
            throw new ConfigException("weights_dtype", "must be fp32 or fp16");
        }
        if (weightsDtype == Dtype.BF16) {
            throw new ConfigException("weights_dtype", BF16_MESSAGE);
        }
        if (loraDtype != Dtype.FP32) {
            throw new ConfigException("lora_dtype", (loraDtype == Dtype.BF16 ? BF16_MESSAGE + "; " : "")
                    + "must be fp32: the trained LoRA weights and the AdamW moments are kept in fp32 (masters) "
                    + "whatever weights_dtype is, got " + (loraDtype == null ? "null" : loraDtype.name().toLowerCase()));
        }
        Check.closed("loss_scale", lossScale, 1, 16777216);
    }

    public static PrecisionConfig defaults() {
        return new PrecisionConfig(Device.AUTO, Dtype.FP16, Dtype.FP32, 1024);
    }
}
