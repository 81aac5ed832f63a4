package io.lcmlora.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EngineFeaturesTest {
    @Test
    void findsTheJniInProcMaps() {
        List<String> maps = List.of(
                "7f00-7f10 r-xp 00000000 08:01 123 /usr/lib/x86_64-linux-gnu/libc.so.6",
                "7f20-7f30 r--p 00000000 00:00 0 [heap]",
                "7f40-7f50 r-xp 00000000 08:01 456 /tmp/old/0.36.0-libdjl_torch.so (deleted)",
                "7f60-7f70 r-xp 00000000 08:01 789 /root/.djl.ai/pytorch/2.7.1-cpu-precxx11-linux-x86_64/0.36.0-libdjl_torch.so");
        assertEquals(Optional.of(Path.of("/root/.djl.ai/pytorch/2.7.1-cpu-precxx11-linux-x86_64/0.36.0-libdjl_torch.so")),
                EngineFeatures.jniIn(maps));
        assertEquals(Optional.empty(), EngineFeatures.jniIn(List.of("7f20-7f30 r--p 00000000 00:00 0 [stack]")));
    }

    /** The marker is found across the reader's 1 MiB buffer boundary, and not in a file that lacks it. */
    @Test
    void findsTheMarkerAnywhereInTheFile(@TempDir Path tmp) throws IOException {
        byte[] marker = EngineFeatures.BF16_MARKER.getBytes(StandardCharsets.US_ASCII);
        for (int at : new int[] {0, (1 << 20) - 5, (1 << 20) * 2 + 7}) {
            byte[] data = new byte[(1 << 20) * 3];
            System.arraycopy(marker, 0, data, at, marker.length);
            Path f = tmp.resolve("with-" + at + ".so");
            Files.write(f, data);
            assertTrue(EngineFeatures.hasMarker(f), "marker at " + at);
            data[at + marker.length - 1] ^= 1;
            Files.write(f, data);
            assertFalse(EngineFeatures.hasMarker(f), "broken marker at " + at);
        }
        assertFalse(EngineFeatures.hasMarker(tmp.resolve("missing.so")));
    }

    /** The loaded engine's JNI is found, and bf16() is exactly whether that file carries the patch's marker. */
    @Test
    void theLoadedJniIsFoundAndItsMarkerDecidesBf16() {
        boolean bf16 = EngineFeatures.bf16();
        Optional<Path> jni = EngineFeatures.loadedJni();
        assertTrue(jni.isPresent() && jni.get().getFileName().toString().endsWith("libdjl_torch.so"), "jni " + jni);
        assertEquals(EngineFeatures.hasMarker(jni.get()), bf16);
        System.out.println("loaded JNI " + jni.get() + ", bf16 " + bf16);
    }
}
