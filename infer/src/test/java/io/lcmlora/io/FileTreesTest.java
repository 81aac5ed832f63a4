package io.lcmlora.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileTreesTest {
    @Test
    void deletesNestedTreeButNotWhatALinkPointsTo(@TempDir Path tmp) throws Exception {
        Path outside = Files.createDirectories(tmp.resolve("outside"));
        Files.writeString(outside.resolve("keep.txt"), "keep");
        Path root = Files.createDirectories(tmp.resolve("root/a/b/c"));
        Files.writeString(root.resolve("f.bin"), "x");
        Files.writeString(tmp.resolve("root/a/.hidden.tmp"), "");
        Files.createSymbolicLink(tmp.resolve("root/a/link"), outside);
        Files.createSymbolicLink(tmp.resolve("root/filelink"), outside.resolve("keep.txt"));

        FileTrees.deleteTree(tmp.resolve("root"));

        assertFalse(Files.exists(tmp.resolve("root")));
        assertEquals("keep", Files.readString(outside.resolve("keep.txt")));
        FileTrees.deleteTree(tmp.resolve("root")); // absent: no-op
        Path file = Files.writeString(tmp.resolve("plain.txt"), "p");
        FileTrees.deleteTree(file);
        assertFalse(Files.exists(file));
        assertTrue(Files.isDirectory(outside));
    }
}
