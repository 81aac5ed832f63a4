package io.lcmlora.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Writer -> reader round trips through engine arrays, dtype conversion on load, and the lifetime of loaded arrays. */
class SafeTensorsEngineTest {
    @TempDir
    Path dir;

    @Test
    void roundTripsEveryDtypeThroughTheEngine() throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray f32 = m.create(new float[] {1.5f, -2f, 3e-8f, 1e30f, 0f, -0f}, new Shape(2, 3));
            NDArray f64 = m.create(new double[] {Math.PI, -Math.E});
            NDArray f16 = m.create(new float[] {0.1f, -65504f, 6e-8f}).toType(DataType.FLOAT16, false);
            NDArray i64 = m.create(new long[] {Long.MIN_VALUE, 5, Long.MAX_VALUE});
            NDArray i32 = m.create(new int[] {Integer.MIN_VALUE, 5});
            NDArray u8 = m.create(ByteBuffer.wrap(new byte[] {0, 7, (byte) 255}), new Shape(3), DataType.UINT8);
            NDArray i8 = m.create(new byte[] {-128, 3});
            NDArray bool = m.create(new boolean[] {true, false, true});
            Path p = dir.resolve("engine.safetensors");
            new SafeTensorsWriter().metadata("format", "pt")
                    .add("f32", f32).add("f64", f64).add("f16", f16).add("i64", i64).add("i32", i32)
                    .add("u8", u8).add("i8", i8).add("bool", bool)
                    .add("f32_as_bf16", f32, DType.BF16).add("f32_as_f16", f32, DType.F16).add("f64_as_f32", f64, DType.F32)
                    .write(p);
            try (SafeTensorsFile st = SafeTensorsFile.open(p)) {
                for (String name : new String[] {"f32", "f64", "f16", "i64", "i32", "u8", "i8", "bool"}) {
                    NDArray orig = switch (name) {
                        case "f32" -> f32; case "f64" -> f64; case "f16" -> f16; case "i64" -> i64;
                        case "i32" -> i32; case "u8" -> u8; case "i8" -> i8; default -> bool;
                    };
                    NDArray back = st.load(name, m);
                    assertEquals(orig.getDataType(), back.getDataType(), name);
                    assertEquals(orig.getShape(), back.getShape(), name);
                    assertArrayEquals(orig.toByteArray(), back.toByteArray(), name);
                }
                assertEquals(DType.BF16, st.info("f32_as_bf16").dtype());
                NDArray bf = st.load("f32_as_bf16", m);
                assertEquals(DataType.FLOAT32, bf.getDataType(), "bf16 is widened to f32 (DJL cannot hold bf16)");
                assertArrayEquals(new float[] {1.5f, -2f, bf16(3e-8f), bf16(1e30f), 0f, -0f}, bf.toFloatArray());
                assertArrayEquals(f32.toType(DataType.FLOAT16, false).toType(DataType.FLOAT32, false).toFloatArray(),
                        st.load("f32_as_f16", m).toType(DataType.FLOAT32, false).toFloatArray());
                assertEquals(DataType.FLOAT32, st.load("f64_as_f32", m).getDataType());
            }
        }
    }

    private static float bf16(float v) {
        return Float.intBitsToFloat((SafeTensorsWriter.toBf16(v) & 0xFFFF) << 16);
    }

    @Test
    void convertsFloatingDtypesOnLoadAndLeavesIntegersAlone() throws IOException {
        Path p = dir.resolve("conv.safetensors");
        new SafeTensorsWriter()
                .addFloats("h", new long[] {3}, new float[] {0.5f, -1f, 2048f}, DType.F16)
                .addFloats("b", new long[] {2}, new float[] {0.25f, -3f}, DType.BF16)
                .addFloats("f", new long[] {2}, new float[] {0.1f, 7f}, DType.F32)
                .addLongs("i", new long[] {2}, new long[] {4, 5})
                .write(p);
        try (NDManager m = NDManager.newBaseManager(); SafeTensorsFile st = SafeTensorsFile.open(p)) {
            NDArray h = st.load("h", m, DataType.FLOAT32);
            assertEquals(DataType.FLOAT32, h.getDataType());
            assertArrayEquals(new float[] {0.5f, -1f, 2048f}, h.toFloatArray());
            NDArray b = st.load("b", m, DataType.FLOAT16);
            assertEquals(DataType.FLOAT16, b.getDataType());
            assertArrayEquals(new float[] {0.25f, -3f}, b.toType(DataType.FLOAT32, false).toFloatArray());
            NDArray f = st.load("f", m, DataType.FLOAT64);
            assertArrayEquals(new double[] {0.1f, 7f}, f.toDoubleArray());
            NDArray i = st.load("i", m, DataType.FLOAT32);
            assertEquals(DataType.INT64, i.getDataType(), "integer tensors keep their type");
        }
    }

    /**
     * load() must return engine-owned memory. The file is overwritten in place after loading and closing: an
     * array that still aliased the (shared) mapping would show the new bytes, and an in-place op on a
     * read-only mapping would crash the JVM.
     */
    @Test
    void loadedArraysOwnTheirMemoryAfterTheFileIsClosedAndChanged() throws IOException {
        Path p = dir.resolve("own.safetensors");
        new SafeTensorsWriter()
                .addFloats("w", new long[] {4}, new float[] {1f, 2f, 3f, 4f}, DType.F32)
                .addLongs("n", new long[] {2}, new long[] {10, 20})
                .write(p);
        long dataStart;
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray w;
            NDArray n;
            try (SafeTensorsFile st = SafeTensorsFile.open(p)) {
                w = st.load("w", m);
                n = st.load("n", m);
                dataStart = p.toFile().length() - 32;
            }
            try (RandomAccessFile raf = new RandomAccessFile(p.toFile(), "rw")) {
                raf.seek(dataStart);
                raf.write(ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN)
                        .putFloat(-9f).putFloat(-9f).putFloat(-9f).putFloat(-9f).putLong(-1).putLong(-1).array());
            }
            for (int i = 0; i < 3; i++) {
                System.gc();
            }
            assertArrayEquals(new float[] {1f, 2f, 3f, 4f}, w.toFloatArray());
            assertArrayEquals(new long[] {10, 20}, n.toLongArray());
            w.addi(m.ones(new Shape(4)));
            assertArrayEquals(new float[] {2f, 3f, 4f, 5f}, w.toFloatArray());
            try (SafeTensorsFile st = SafeTensorsFile.open(p)) {
                assertArrayEquals(new float[] {-9f, -9f, -9f, -9f}, st.floats("w"), "the file really changed");
            }
        }
    }
}
