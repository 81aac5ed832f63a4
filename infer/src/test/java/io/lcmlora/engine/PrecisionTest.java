package io.lcmlora.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import org.junit.jupiter.api.Test;

class PrecisionTest {
    @Test
    void parsesEverySpellingAndNamesTheChoicesOnBadInput() {
        for (String s : new String[] {"fp32", "FLOAT32", " f32 "}) {
            assertEquals(Precision.FP32, Precision.parse(s));
        }
        for (String s : new String[] {"fp16", "float16", "F16", "half"}) {
            assertEquals(Precision.FP16, Precision.parse(s));
        }
        assertEquals(Precision.BF16, Precision.parse("bfloat16"));
        var e = assertThrows(IllegalArgumentException.class, () -> Precision.parse("int8"));
        assertTrue(e.getMessage().contains("'int8'") && e.getMessage().contains("fp32, fp16 or bf16"), e.getMessage());
        assertEquals(DataType.FLOAT32, Precision.FP32.dataType());
        assertEquals(DataType.FLOAT16, Precision.FP16.dataType());
        assertEquals(Precision.FP16, Precision.of(DataType.FLOAT16));
        assertEquals(Precision.BF16, Precision.of(DataType.BFLOAT16));
        assertThrows(IllegalArgumentException.class, () -> Precision.of(DataType.INT8));
        assertTrue(Precision.FP16.needsLossScaling());
        assertFalse(Precision.BF16.needsLossScaling());
        assertFalse(Precision.FP32.isHalf());
        assertEquals("bf16", Precision.BF16.label());
    }

    /**
     * On a JNI from tools/build-jni.sh bf16 works: a round trip rounds to 8 significant bits (closed form: 1 + 2^-8
     * is a tie and rounds to even, 1.0; pi becomes 3.140625; 1 + 3*2^-8 rounds up to 1 + 2^-6). On DJL's stock JNI,
     * asking for bf16 is refused with the fix, before any bf16 tensor exists (which would abort the JVM).
     */
    @Test
    void bf16RoundsLikeBfloat16OnAPatchedJniAndIsRefusedOnTheStockOne() {
        if (EngineFeatures.bf16()) {
            assertEquals(DataType.BFLOAT16, Precision.BF16.dataType());
            try (NDManager m = NDManager.newBaseManager()) {
                NDArray x = m.create(new float[] {1f, 1f + 0x1p-8f, (float) Math.PI, 1f + 3 * 0x1p-8f, -65536f});
                NDArray b = x.toType(DataType.BFLOAT16, false);
                assertEquals(DataType.BFLOAT16, b.getDataType());
                NDArray sum = b.add(b);
                assertEquals(DataType.BFLOAT16, sum.getDataType());
                assertArrayEquals(new float[] {1f, 1f, 3.140625f, 1f + 0x1p-6f, -65536f},
                        b.toType(DataType.FLOAT32, false).toFloatArray());
                assertArrayEquals(new float[] {2f, 2f, 6.28125f, 2f + 0x1p-5f, -131072f},
                        sum.toType(DataType.FLOAT32, false).toFloatArray());
            }
        } else {
            var e = assertThrows(IllegalArgumentException.class, Precision.BF16::dataType);
            assertTrue(e.getMessage().contains("tools/build-jni.sh") && e.getMessage().contains("LCM_ENGINE"),
                    e.getMessage());
        }
    }
}
