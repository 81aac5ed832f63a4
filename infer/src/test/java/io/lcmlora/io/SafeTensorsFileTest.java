package io.lcmlora.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Pure-Java reads of hand-built files, writer/reader raw round-trips, and every malformed-file case. */
class SafeTensorsFileTest {
    @TempDir
    Path dir;

    @Test
    void readsHandBuiltFileInHeaderOrderWithMetadata() throws IOException {
        String header = "{\"__metadata__\":{\"format\":\"pt\",\"k\":\"v\"},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]},"
                + "\"a\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}";
        ByteBuffer data = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-7L).putFloat(1.5f).putFloat(-2f);
        Path p = StFiles.write(dir, "x.safetensors", StFiles.bytes(header, data.array()));
        try (SafeTensorsFile st = SafeTensorsFile.open(p)) {
            assertEquals(List.of("b", "a"), List.copyOf(st.tensors().keySet()));
            assertEquals(Map.of("format", "pt", "k", "v"), st.metadata());
            assertArrayEquals(new float[] {1.5f, -2f}, st.floats("b"));
            assertArrayEquals(new long[] {-7L}, st.longs("a"));
            assertArrayEquals(new long[] {2}, st.info("b").shape());
        }
    }

    @Test
    void rawRoundTripOfEveryDtype() throws IOException {
        SafeTensorsWriter w = new SafeTensorsWriter().metadata("format", "pt").metadata("note", "ünïcode \"quoted\"");
        float[] fl = {0f, -0f, 1f, -2.5f, 65504f, 6.1035156e-5f, 5.9604645e-8f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY};
        w.addFloats("f32", new long[] {3, 3}, fl, DType.F32);
        w.addFloats("f16", new long[] {9}, fl, DType.F16);
        w.addFloats("bf16", new long[] {9}, fl, DType.BF16);
        w.addDoubles("f64", new long[] {2}, new double[] {Math.PI, -1e300});
        w.addLongs("i64", new long[] {3}, new long[] {Long.MIN_VALUE, 0, Long.MAX_VALUE});
        ByteBuffer i32 = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putInt(Integer.MIN_VALUE).putInt(-1).putInt(7).flip();
        w.add("i32", DType.I32, new long[] {3}, i32);
        w.add("u8", DType.U8, new long[] {4}, ByteBuffer.wrap(new byte[] {0, 1, (byte) 200, (byte) 255}));
        w.add("i8", DType.I8, new long[] {2}, ByteBuffer.wrap(new byte[] {-128, 127}));
        w.add("bool", DType.BOOL, new long[] {1, 3}, ByteBuffer.wrap(new byte[] {1, 0, 1}));
        w.add("empty", DType.F32, new long[] {0, 4}, ByteBuffer.allocate(0));
        w.addFloats("scalar", new long[] {}, new float[] {42f}, DType.F32);
        Path p = dir.resolve("all.safetensors");
        w.write(p);
        byte[] raw = Files.readAllBytes(p);
        long n = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        assertEquals(0, n % 8, "header padded to 8 bytes");
        try (SafeTensorsFile st = SafeTensorsFile.open(p)) {
            assertEquals(Map.of("format", "pt", "note", "ünïcode \"quoted\""), st.metadata());
            assertEquals(List.of("f32", "f16", "bf16", "f64", "i64", "i32", "u8", "i8", "bool", "empty", "scalar"),
                    List.copyOf(st.tensors().keySet()));
            assertArrayEquals(fl, st.floats("f32"));
            assertArrayEquals(fl, st.floats("f16"), "all values are exact halves");
            assertArrayEquals(new float[] {0f, -0f, 1f, -2.5f, 65536f, 6.1035156e-5f, 5.9604645e-8f,
                    Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}, st.floats("bf16"), "65504 rounds to 65536 in bf16");
            assertArrayEquals(new double[] {Math.PI, -1e300}, st.doubles("f64"));
            assertArrayEquals(new long[] {Long.MIN_VALUE, 0, Long.MAX_VALUE}, st.longs("i64"));
            assertArrayEquals(new long[] {Integer.MIN_VALUE, -1, 7}, st.longs("i32"));
            assertArrayEquals(new long[] {0, 1, 200, 255}, st.longs("u8"));
            assertArrayEquals(new long[] {-128, 127}, st.longs("i8"));
            assertArrayEquals(new long[] {1, 0, 1}, st.longs("bool"));
            assertEquals(0, st.floats("empty").length);
            assertArrayEquals(new long[] {0, 4}, st.info("empty").shape());
            assertArrayEquals(new float[] {42f}, st.floats("scalar"));
            assertEquals(0, st.info("scalar").shape().length);
            // the exact bytes of each tensor as stored
            assertEquals(0x3C00, st.bytes("f16").getShort(4) & 0xFFFF);
            assertEquals(0x3F80, st.bytes("bf16").getShort(4) & 0xFFFF);
            assertEquals(DType.BOOL, st.info("bool").dtype());
            SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> st.floats("i64"));
            assertTrue(e.getMessage().contains(p.toString()) && e.getMessage().contains("'i64'"), e.getMessage());
            e = assertThrows(SafeTensorsException.class, () -> st.longs("f32"));
            assertTrue(e.getMessage().contains("'f32'"), e.getMessage());
            e = assertThrows(SafeTensorsException.class, () -> st.info("nope"));
            assertTrue(e.getMessage().contains(p.toString()) && e.getMessage().contains("'nope'"), e.getMessage());
        }
    }

    @Test
    void writerRejectsBadInput() {
        SafeTensorsWriter w = new SafeTensorsWriter();
        w.addFloats("a", new long[] {1}, new float[] {1f}, DType.F32);
        assertThrows(IllegalArgumentException.class, () -> w.addFloats("a", new long[] {1}, new float[] {1f}, DType.F32));
        assertThrows(IllegalArgumentException.class, () -> w.addFloats("__metadata__", new long[] {1}, new float[] {1f}, DType.F32));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> w.addFloats("b", new long[] {3}, new float[] {1f}, DType.F32));
        assertTrue(e.getMessage().contains("'b'"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> w.add("c", DType.U8, new long[] {-1}, ByteBuffer.allocate(0)));
        assertThrows(IllegalArgumentException.class,
                () -> w.add("d", DType.F64, new long[] {1L << 40, 1L << 40}, ByteBuffer.allocate(0)));
        // a failed add leaves the name free
        w.addFloats("b", new long[] {1}, new float[] {1f}, DType.F32);
    }

    /** A 2.2 GB sparse file: a U8 tensor over the 2 GB window limit, then a small F32 tensor at the very end. */
    @Test
    void readsSmallTensorAtTheEndOfASparseFileOver2GB() throws IOException {
        long big = 2_200_000_000L;
        String header = "{\"big\":{\"dtype\":\"U8\",\"shape\":[" + big + "],\"data_offsets\":[0," + big + "]},"
                + "\"tail\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[" + big + "," + (big + 16) + "]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        Path p = dir.resolve("sparse.safetensors");
        try (RandomAccessFile raf = new RandomAccessFile(p.toFile(), "rw")) {
            long total = 8 + h.length + big + 16;
            raf.setLength(total);
            raf.write(StFiles.bytes(h.length, header, new byte[0]));
            raf.seek(total - 16);
            raf.write(StFiles.floatsLe(1f, -2f, 3.25f, 1e-30f));
            raf.seek(8 + h.length + 123_456_789L);
            raf.write(77);
        }
        try (SafeTensorsFile st = SafeTensorsFile.open(p)) {
            assertArrayEquals(new float[] {1f, -2f, 3.25f, 1e-30f}, st.floats("tail"));
            SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> st.bytes("big"));
            assertTrue(e.getMessage().contains(p.toString()) && e.getMessage().contains("'big'")
                    && e.getMessage().contains("2 GiB"), e.getMessage());
        } finally {
            Files.delete(p);
        }
    }

    // ---- malformed files: every case is a SafeTensorsException naming the file (and the tensor) ----

    private static final String OK_ENTRY = "\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";

    private SafeTensorsException bad(String name, byte[] content) throws IOException {
        Path p = StFiles.write(dir, name, content);
        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensorsFile.open(p).close());
        assertTrue(e.getMessage().startsWith(p.toString() + ": "), e.getMessage());
        return e;
    }

    private void badHeader(String header, byte[] data, String... mustContain) throws IOException {
        SafeTensorsException e = bad("bad.safetensors", StFiles.bytes(header, data));
        for (String s : mustContain) {
            assertTrue(e.getMessage().contains(s), "'" + e.getMessage() + "' should contain '" + s + "'");
        }
    }

    @Test
    void rejectsShortOrTruncatedFiles() throws IOException {
        assertTrue(bad("empty.safetensors", new byte[0]).getMessage().contains("shorter than"));
        assertTrue(bad("five.safetensors", new byte[5]).getMessage().contains("shorter than"));
        byte[] full = StFiles.bytes("{" + OK_ENTRY + "}", new byte[8]);
        byte[] cut = java.util.Arrays.copyOf(full, full.length - 3);
        SafeTensorsException e = bad("cut.safetensors", cut);
        assertTrue(e.getMessage().contains("'t'") && e.getMessage().contains("truncated"), e.getMessage());
        byte[] cutHeader = java.util.Arrays.copyOf(full, 20);
        assertTrue(bad("cuthdr.safetensors", cutHeader).getMessage().contains("exceeds the file size"));
    }

    @Test
    void rejectsNegativeZeroAndHugeHeaderLengths() throws IOException {
        String h = "{" + OK_ENTRY + "}";
        for (long n : new long[] {-1L, -8L, Long.MIN_VALUE, 0L, 1L, SafeTensorsFile.MAX_HEADER_BYTES + 1, 1L << 40, Long.MAX_VALUE}) {
            SafeTensorsException e = bad("len.safetensors", StFiles.bytes(n, h, new byte[8]));
            assertTrue(e.getMessage().contains("header length"), e.getMessage());
        }
        // a length within bounds but larger than the file
        assertTrue(bad("len2.safetensors", StFiles.bytes(1000, h, new byte[8])).getMessage().contains("exceeds the file size"));
    }

    @Test
    void rejectsBadJson() throws IOException {
        byte[] d = new byte[8];
        badHeader("{" + OK_ENTRY, d, "not valid JSON");
        badHeader("[1,2]", d, "not a JSON object");
        badHeader("{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],}}", d, "not valid JSON");
        badHeader("{'t':{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", d, "not valid JSON");
        badHeader("{" + OK_ENTRY + "} {}", d, "not valid JSON");
        badHeader("{" + OK_ENTRY + "," + OK_ENTRY + "}", d, "duplicate tensor 't'");
        badHeader("{\"t\":[1]}", d, "'t'", "must be an object");
        badHeader("{\"t\":{\"dtype\":\"F32\",\"shape\":[2]}}", d, "'t'", "needs dtype, shape and data_offsets");
        badHeader("{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"extra\":1}}", d, "'t'", "unknown field 'extra'");
        badHeader("{\"t\":{\"dtype\":\"F32\",\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,8]}}", d, "'t'", "appears twice");
        badHeader("{\"t\":{\"dtype\":5,\"shape\":[2],\"data_offsets\":[0,8]}}", d, "'t'", "dtype must be a string");
        badHeader("{\"t\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", d, "'t'", "shape");
        badHeader("{\"t\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", d, "'t'", "shape");
        badHeader("{\"t\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,8]}}", d, "'t'", "64-bit");
        badHeader("{\"t\":{\"dtype\":\"F32\",\"shape\":[[2]],\"data_offsets\":[0,8]}}", d, "'t'", "shape");
        badHeader("{\"__metadata__\":{\"k\":1}," + OK_ENTRY + "}", d, "__metadata__", "'k'");
        badHeader("{\"__metadata__\":[]," + OK_ENTRY + "}", d, "__metadata__");
        badHeader("{\"__metadata__\":{},\"__metadata__\":{}," + OK_ENTRY + "}", d, "duplicate __metadata__");
        // invalid UTF-8 in the header
        byte[] h = ("{" + OK_ENTRY + "}").getBytes(StandardCharsets.UTF_8);
        h[3] = (byte) 0xFF;
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + 8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).put(h);
        assertTrue(bad("utf.safetensors", b.array()).getMessage().contains("UTF-8"));
    }

    @Test
    void rejectsUnknownDtype() throws IOException {
        badHeader("{\"t\":{\"dtype\":\"F8_E4M3\",\"shape\":[8],\"data_offsets\":[0,8]}}", new byte[8], "'t'", "unknown dtype 'F8_E4M3'");
        badHeader("{\"t\":{\"dtype\":\"f32\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[8], "'t'", "unknown dtype 'f32'");
    }

    @Test
    void rejectsOffsetsOutOfRangeOverlappingOrWithGaps() throws IOException {
        badHeader("{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[4], "'t'", "run past the end");
        badHeader("{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[9223372036854775799,9223372036854775807]}}",
                new byte[8], "'t'", "run past the end");
        badHeader("{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}}", new byte[8], "'t'", "negative");
        badHeader("{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", new byte[8], "'t'", "begin <= end");
        badHeader("{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,16]}}", new byte[8], "'t'", "[begin, end]");
        badHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", new byte[12], "'b' overlaps tensor 'a'");
        badHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[8], "overlaps tensor");
        badHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", new byte[12], "gap", "'b'");
        badHeader("{" + OK_ENTRY + "}", new byte[12], "4 trailing bytes", "'t'");
    }

    @Test
    void rejectsShapeSizeMismatchAndOverflow() throws IOException {
        badHeader("{\"t\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", new byte[8], "'t'", "needs 12 bytes", "span 8");
        badHeader("{\"t\":{\"dtype\":\"F16\",\"shape\":[2,3],\"data_offsets\":[0,8]}}", new byte[8], "'t'", "needs 12 bytes", "span 8");
        badHeader("{\"t\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}", new byte[8], "'t'", "overflows");
        badHeader("{\"t\":{\"dtype\":\"F64\",\"shape\":[2305843009213693952],\"data_offsets\":[0,8]}}", new byte[8], "'t'", "overflows");
    }

    @Test
    void acceptsEdgeCasesTheFormatAllows() throws IOException {
        // empty header object, null metadata, padding spaces, zero-size tensors sharing an offset
        try (SafeTensorsFile st = SafeTensorsFile.open(StFiles.write(dir, "e.safetensors", StFiles.bytes("{}", new byte[0])))) {
            assertTrue(st.tensors().isEmpty());
        }
        String h = "{\"__metadata__\":null,\"z1\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},"
                + "\"z2\":{\"dtype\":\"I64\",\"shape\":[3,0],\"data_offsets\":[0,0]}," + OK_ENTRY + "}      ";
        try (SafeTensorsFile st = SafeTensorsFile.open(StFiles.write(dir, "z.safetensors", StFiles.bytes(h, StFiles.floatsLe(1f, 2f))))) {
            assertEquals(3, st.tensors().size());
            assertTrue(st.metadata().isEmpty());
            assertArrayEquals(new float[] {1f, 2f}, st.floats("t"));
        }
    }
}
