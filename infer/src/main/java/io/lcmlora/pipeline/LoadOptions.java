package io.lcmlora.pipeline;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;

/**
 * Where each part of an SDXL model lives and in which precision.
 *
 * <p>The VAE defaults to float32 everywhere: the SDXL VAE overflows in float16 (diffusers marks it
 * {@code force_upcast} and its pipelines upcast it to decode). The two text encoders share one placement because
 * the prompt encoding concatenates their hidden states. Tokenizers and the scheduler are plain Java.
 *
 * @param unet the UNet's device and dtype
 * @param vae the VAE's device and dtype
 * @param textEncoders device and dtype of text_encoder and text_encoder_2
 * @param variant the weight-file variant to prefer ({@code fp16} reads {@code *.fp16.safetensors} when present),
 *     or null
 */
public record LoadOptions(Placement unet, Placement vae, Placement textEncoders, String variant) {
    /**
     * A device and a floating dtype: float32, float16, or bfloat16 (only on a JNI with bf16 support, see
     * {@link io.lcmlora.engine.EngineFeatures}).
     */
    public record Placement(Device device, DataType dtype) {
        public Placement {
            if (device == null) {
                throw new IllegalArgumentException("a placement needs a device");
            }
            if (dtype != DataType.FLOAT32 && dtype != DataType.FLOAT16 && dtype != DataType.BFLOAT16) {
                throw new IllegalArgumentException("dtype must be float32, float16 or bfloat16, got " + dtype);
            }
        }

        public static Placement cpu() {
            return new Placement(Device.cpu(), DataType.FLOAT32);
        }

        @Override
        public String toString() {
            return device + "/" + io.lcmlora.engine.Precision.of(dtype).label();
        }
    }

    public LoadOptions {
        if (unet == null || vae == null || textEncoders == null) {
            throw new IllegalArgumentException("every component needs a placement");
        }
    }

    /** Everything on the CPU in float32. */
    public static LoadOptions cpu() {
        return new LoadOptions(Placement.cpu(), Placement.cpu(), Placement.cpu(), null);
    }

    /**
     * Everything on {@code device}, UNet and text encoders in {@code dtype}, the VAE in float32; the {@code fp16}
     * weight variant is preferred when {@code dtype} is float16.
     */
    public static LoadOptions on(Device device, DataType dtype) {
        Placement p = new Placement(device, dtype);
        return new LoadOptions(p, new Placement(device, DataType.FLOAT32), p, dtype == DataType.FLOAT16 ? "fp16" : null);
    }
}
