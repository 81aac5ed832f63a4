package io.lcmlora.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UnmapperTest {
    @TempDir
    Path dir;

    /** A loaded tensor is an engine-owned copy: its values survive the unmapping of the file window and a GC. */
    @Test
    void loadedTensorsOutliveTheirUnmappedWindow() throws Exception {
        String header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
                + "\"h\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[16,20]}}";
        byte[] data = new byte[20];
        System.arraycopy(StFiles.floatsLe(1.5f, -2f, 3f, 4.25f), 0, data, 0, 16);
        data[16] = 0x00; data[17] = 0x3C; // f16 1.0
        data[18] = 0x00; data[19] = (byte) 0xC0; // f16 -2.0
        Path f = StFiles.write(dir, "t.safetensors", StFiles.bytes(header, data));
        assertTrue(Unmapper.available(), "this JDK offers sun.misc.Unsafe.invokeCleaner");
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray a;
            NDArray h;
            try (SafeTensorsFile st = SafeTensorsFile.open(f)) {
                a = st.load("a", m);
                h = st.load("h", m, DataType.FLOAT32);
                assertArrayEquals(new float[] {1.5f, -2f, 3f, 4.25f}, st.floats("a"));
            }
            System.gc();
            assertArrayEquals(new float[] {1.5f, -2f, 3f, 4.25f}, a.toFloatArray());
            assertArrayEquals(new float[] {1f, -2f}, h.toFloatArray());
            a.addi(a); // engine-owned memory: in-place ops are safe
            assertArrayEquals(new float[] {3f, -4f, 6f, 8.5f}, a.toFloatArray());
        }
    }

    @Test
    void unmapsAMappedWindowAndRefusesWhatItCannot() throws Exception {
        Path f = StFiles.write(dir, "raw.bin", new byte[4096]);
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            ByteBuffer b = ch.map(FileChannel.MapMode.READ_ONLY, 0, 4096);
            assertTrue(Unmapper.unmap(b));
        }
        assertFalse(Unmapper.unmap(ByteBuffer.allocate(16)), "a heap buffer is not unmappable");
        assertFalse(Unmapper.unmap(ByteBuffer.allocateDirect(0)), "an empty buffer is left alone");
    }
}
