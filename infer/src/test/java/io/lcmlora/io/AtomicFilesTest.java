package io.lcmlora.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {
    @TempDir
    Path dir;

    private List<Path> listing() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        }
    }

    @Test
    void writesAndReplacesLeavingNoTempFile() throws IOException {
        Path t = dir.resolve("sub/out.bin");
        AtomicFiles.writeBytes(t, new byte[] {1, 2, 3});
        assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(t));
        AtomicFiles.writeString(t, "replaced");
        assertEquals("replaced", Files.readString(t));
        try (Stream<Path> s = Files.list(t.getParent())) {
            assertEquals(List.of(t), s.toList());
        }
    }

    @Test
    void failingBodyKeepsTheOldFileAndRemovesTheTemp() throws IOException {
        Path t = dir.resolve("keep.safetensors");
        Files.writeString(t, "old");
        IOException e = assertThrows(IOException.class, () -> AtomicFiles.write(t, os -> {
            os.write(new byte[4 << 20]);
            throw new IOException("disk full (simulated)");
        }));
        assertEquals("disk full (simulated)", e.getMessage());
        assertThrows(IllegalStateException.class, () -> AtomicFiles.write(t, os -> {
            os.write(1);
            throw new IllegalStateException("bug in the body");
        }));
        assertEquals("old", Files.readString(t));
        assertEquals(List.of(t), listing());
        Path fresh = dir.resolve("never.bin");
        assertThrows(IOException.class, () -> AtomicFiles.write(fresh, os -> {
            throw new IOException("boom");
        }));
        assertTrue(Files.notExists(fresh));
        assertEquals(List.of(t), listing());
    }

    @Test
    void writerFailureKeepsOldSafetensors() throws IOException {
        Path t = dir.resolve("w.safetensors");
        new SafeTensorsWriter().addFloats("a", new long[] {1}, new float[] {1f}, DType.F32).write(t);
        byte[] before = Files.readAllBytes(t);
        assertThrows(IOException.class, () -> AtomicFiles.write(t, os -> {
            new SafeTensorsWriter().addFloats("a", new long[] {1}, new float[] {2f}, DType.F32).write(os);
            throw new IOException("interrupted");
        }));
        assertArrayEquals(before, Files.readAllBytes(t));
        assertEquals(List.of(t), listing());
    }

    @Test
    void resultIsNotOwnerOnlyLikeCreateTempFile() throws IOException {
        Path t = dir.resolve("perm.txt");
        Path plain = dir.resolve("plain.txt");
        Files.writeString(plain, "x");
        AtomicFiles.writeString(t, "x");
        if (Files.getFileStore(dir).supportsFileAttributeView("posix")) {
            Set<PosixFilePermission> got = Files.getPosixFilePermissions(t);
            assertEquals(Files.getPosixFilePermissions(plain), got, "same mode as a file written the ordinary way");
        }
    }

    @Test
    void refusesADirectoryTarget() throws IOException {
        Path d = Files.createDirectory(dir.resolve("d"));
        IOException e = assertThrows(IOException.class, () -> AtomicFiles.writeString(d, "x"));
        assertTrue(e.getMessage().contains(d.toString()), e.getMessage());
    }
}
