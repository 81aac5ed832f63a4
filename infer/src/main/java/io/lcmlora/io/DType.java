package io.lcmlora.io;

import ai.djl.ndarray.types.DataType;

/** Safetensors element types with their byte sizes and the engine type each one loads as. */
public enum DType {
    F64(8, DataType.FLOAT64),
    F32(4, DataType.FLOAT32),
    F16(2, DataType.FLOAT16),
    /** bf16 aborts DJL 0.36 (see notes): it is widened to f32 in Java before reaching the engine. */
    BF16(2, DataType.FLOAT32),
    I64(8, DataType.INT64),
    I32(4, DataType.INT32),
    I8(1, DataType.INT8),
    U8(1, DataType.UINT8),
    BOOL(1, DataType.BOOLEAN);

    private final int size;
    private final DataType engineType;

    DType(int size, DataType engineType) {
        this.size = size;
        this.engineType = engineType;
    }

    public int size() {
        return size;
    }

    /** The DJL type an array of this dtype is created with (BF16 becomes FLOAT32). */
    public DataType engineType() {
        return engineType;
    }

    public boolean isFloating() {
        return this == F64 || this == F32 || this == F16 || this == BF16;
    }

    /** Parses a header dtype string; null if unknown. */
    public static DType parse(String s) {
        for (DType d : values()) {
            if (d.name().equals(s)) {
                return d;
            }
        }
        return null;
    }

    /** The safetensors dtype that stores an engine array of the given type. */
    /** The file dtype a precision is written as (fp32 F32, fp16 F16, bf16 BF16). */
    public static DType of(io.lcmlora.engine.Precision p) {
        return switch (p) {
            case FP32 -> F32;
            case FP16 -> F16;
            case BF16 -> BF16;
        };
    }

    public static DType of(DataType t) {
        return switch (t) {
            case FLOAT64 -> F64;
            case FLOAT32 -> F32;
            case FLOAT16 -> F16;
            case INT64 -> I64;
            case INT32 -> I32;
            case INT8 -> I8;
            case UINT8 -> U8;
            case BOOLEAN -> BOOL;
            default -> throw new IllegalArgumentException("no safetensors dtype for engine type " + t);
        };
    }
}
