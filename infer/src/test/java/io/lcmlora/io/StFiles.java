package io.lcmlora.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Builds safetensors files byte by byte for tests, independently of {@link SafeTensorsWriter}. */
final class StFiles {
    private StFiles() {}

    /** u64 LE header length, the header bytes as given, then the data bytes. */
    static byte[] bytes(long declaredHeaderLength, String header, byte[] data) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(declaredHeaderLength).put(h).put(data);
        return b.array();
    }

    static byte[] bytes(String header, byte[] data) {
        return bytes(header.getBytes(StandardCharsets.UTF_8).length, header, data);
    }

    static Path write(Path dir, String name, byte[] content) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, content);
        return p;
    }

    static byte[] floatsLe(float... v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            b.putFloat(f);
        }
        return b.array();
    }
}
