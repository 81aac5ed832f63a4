package io.lcmlora.cli;

import ai.djl.ndarray.types.DataType;

/** Parses a CLI dtype name. bf16 is refused: DJL 0.36 aborts the JVM on bfloat16 arrays. */
public final class Precision {
    private Precision() {}

    public static DataType parse(String s) {
        return switch (s.toLowerCase(java.util.Locale.ROOT)) {
            case "fp32", "float32", "f32" -> DataType.FLOAT32;
            case "fp16", "float16", "f16", "half" -> DataType.FLOAT16;
            case "bf16", "bfloat16" -> throw new IllegalArgumentException(
                    "dtype bf16 is not supported: DJL 0.36 aborts on bfloat16 arrays; use fp16 (GPU) or fp32");
            default -> throw new IllegalArgumentException("dtype '" + s + "': expected fp32 or fp16");
        };
    }
}
