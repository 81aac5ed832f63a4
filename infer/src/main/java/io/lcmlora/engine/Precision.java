package io.lcmlora.engine;

import ai.djl.ndarray.types.DataType;
import java.util.Locale;

/**
 * The floating precision of frozen weights and compute, for every config key and CLI option of the project
 * ({@code precision.weights_dtype}, {@code precision} of an eval sweep, {@code --dtype}).
 *
 * <p>{@link #BF16} needs a PyTorch JNI built with {@code tools/build-jni.sh} (its dtype patch): the stock DJL 0.36 JNI
 * from Maven Central aborts the JVM on any bfloat16 tensor, so {@link #dataType()} refuses it there (checked by
 * {@link EngineFeatures#bf16()} without touching a bf16 tensor).
 */
public enum Precision {
    FP32,
    FP16,
    BF16;

    /** The DJL type; for {@link #BF16} only after {@link EngineFeatures#requireBf16(String)} passes. */
    public DataType dataType() {
        return switch (this) {
            case FP32 -> DataType.FLOAT32;
            case FP16 -> DataType.FLOAT16;
            case BF16 -> {
                EngineFeatures.requireBf16("bf16");
                yield DataType.BFLOAT16;
            }
        };
    }

    /** True for the 16-bit types (the LoRA then computes in copies of its fp32 masters). */
    public boolean isHalf() {
        return switch (this) {
            case FP32 -> false;
            case FP16, BF16 -> true;
        };
    }

    /**
     * Whether a loss must be scaled before backward: fp16's 5-bit exponent underflows small gradients; bf16 has
     * fp32's exponent range and needs no scaling.
     */
    public boolean needsLossScaling() {
        return switch (this) {
            case FP16 -> true;
            case FP32, BF16 -> false;
        };
    }

    /** The config/CLI spelling: fp32, fp16, bf16. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The precision of a DJL floating type (FLOAT32, FLOAT16, BFLOAT16). */
    public static Precision of(DataType t) {
        return switch (t) {
            case FLOAT32 -> FP32;
            case FLOAT16 -> FP16;
            case BFLOAT16 -> BF16;
            default -> throw new IllegalArgumentException("no precision for dtype " + t + ": expected float32, float16 "
                    + "or bfloat16");
        };
    }

    /** Parses fp32/float32/f32, fp16/float16/f16/half, bf16/bfloat16 (any case). */
    public static Precision parse(String s) {
        if (s == null) {
            throw new IllegalArgumentException("dtype is missing: expected fp32, fp16 or bf16");
        }
        return switch (s.trim().toLowerCase(Locale.ROOT)) {
            case "fp32", "float32", "f32" -> FP32;
            case "fp16", "float16", "f16", "half" -> FP16;
            case "bf16", "bfloat16" -> BF16;
            default -> throw new IllegalArgumentException("dtype '" + s + "': expected fp32, fp16 or bf16");
        };
    }
}
