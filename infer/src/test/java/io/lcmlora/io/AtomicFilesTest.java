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
        assertEquals("cannot write " + t.toAbsolutePath() + ": disk full (simulated)", e.getMessage());
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

    @Test
    void aFullDiskNamesTheFileAndTheReasonWithoutClassNames() throws IOException {
        Path target = dir.resolve("out.bin");
        IOException e = assertThrows(IOException.class, () -> AtomicFiles.write(target, os -> {
            os.write(new byte[10]);
            throw new java.nio.file.FileSystemException(null, null, "No space left on device");
        }));
        assertEquals("cannot write " + target.toAbsolutePath() + ": No space left on device", e.getMessage());
        assertEquals(List.of(), listing(), "no temp file left behind");
        Path blocked = Files.writeString(dir.resolve("plain"), "x").resolve("sub/out.png");
        IOException f = assertThrows(IOException.class, () -> AtomicFiles.writeString(blocked, "y"));
        assertTrue(f.getMessage().startsWith("cannot write " + blocked.toAbsolutePath() + ": "), f.getMessage());
        assertTrue(!f.getMessage().contains("Exception"), f.getMessage());
    }

    @Test
    void staleTempsOfInterruptedWritesAreDeletedAndNothingElse() throws IOException {
        Files.createFile(dir.resolve(".step-000004.png.k2j3l4.tmp"));
        Files.createFile(dir.resolve(".train_log.jsonl.0.tmp"));
        Files.createFile(dir.resolve("step-000004.png"));
        Files.createFile(dir.resolve(".lcm-run.lock"));
        Files.createFile(dir.resolve("notes.tmp"));
        Files.createDirectory(dir.resolve(".checkpoint-2.tmp"));
        assertEquals(2, AtomicFiles.deleteStaleTemps(dir));
        assertEquals(List.of(dir.resolve(".checkpoint-2.tmp"), dir.resolve(".lcm-run.lock"), dir.resolve("notes.tmp"),
                dir.resolve("step-000004.png")), listing());
        assertEquals(0, AtomicFiles.deleteStaleTemps(dir.resolve("absent")));
    }
}
