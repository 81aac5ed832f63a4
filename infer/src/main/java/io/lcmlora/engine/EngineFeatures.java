package io.lcmlora.engine;

import ai.djl.engine.Engine;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * What the loaded PyTorch JNI ({@code libdjl_torch.so}) can do beyond stock DJL 0.36, found without calling into it.
 *
 * <p>bf16: the stock JNI's dtype switch has no bfloat16 case and ends in a bare {@code throw;}, so the first bf16
 * tensor kills the JVM; a probe call cannot be caught. A JNI built by {@code tools/build-jni.sh} carries the patch
 * {@code tools/jni/patches/0001-bf16-dtype.patch} and the marker string {@value #BF16_MARKER} in its binary. This class
 * finds the JNI the process mapped ({@code /proc/self/maps}) and looks for the marker in that file.
 */
public final class EngineFeatures {
    /** Embedded in the patched JNI (see the patch). */
    public static final String BF16_MARKER = "LCM_DJL_TORCH_FEATURES=bf16";

    static final String JNI_NAME = "libdjl_torch.so";
    private static final long MAX_JNI_BYTES = 1L << 30;
    private static volatile Boolean bf16;

    private EngineFeatures() {}

    /** True when the loaded JNI maps DJL's BFLOAT16 to torch's bfloat16 (loads the engine first). */
    public static boolean bf16() {
        Boolean b = bf16;
        if (b == null) {
            Engine.getInstance();
            b = loadedJni().map(EngineFeatures::hasMarker).orElse(false);
            bf16 = b;
        }
        return b;
    }

    /**
     * Throws, naming {@code what} and the fix, unless {@link #bf16()}: the only safe way to refuse bf16 on the stock
     * JNI, which would abort the JVM instead.
     */
    public static void requireBf16(String what) {
        if (!bf16()) {
            throw new IllegalArgumentException(what + " needs a PyTorch JNI with bfloat16 support, and the loaded one ("
                    + loadedJni().map(Path::toString).orElse("not found in /proc/self/maps") + ") is DJL 0.36's stock "
                    + "build, which aborts the JVM on any bfloat16 tensor. Build the patched JNI with tools/build-jni.sh "
                    + "--torch <libtorch> and run with LCM_ENGINE=<its output folder>, or use fp16 (GPU) / fp32.");
        }
    }

    /** The JNI file the process has mapped, if any (Linux). */
    public static Optional<Path> loadedJni() {
        Path maps = Path.of("/proc/self/maps");
        if (!Files.isReadable(maps)) {
            return Optional.empty();
        }
        try {
            return jniIn(Files.readAllLines(maps, StandardCharsets.ISO_8859_1));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** The first mapped path whose file name ends with {@code libdjl_torch.so} (DJL names its copy 0.36.0-...). */
    static Optional<Path> jniIn(List<String> mapsLines) {
        for (String line : mapsLines) {
            int slash = line.indexOf('/');
            if (slash < 0) {
                continue;
            }
            String file = line.substring(slash).trim();
            if (file.endsWith(" (deleted)")) {
                continue;
            }
            if (file.endsWith(JNI_NAME)) {
                return Optional.of(Path.of(file));
            }
        }
        return Optional.empty();
    }

    /** Whether {@code file} (at most 1 GiB) contains {@link #BF16_MARKER}; false when unreadable. */
    static boolean hasMarker(Path file) {
        byte[] needle = BF16_MARKER.getBytes(StandardCharsets.US_ASCII);
        try {
            if (!Files.isRegularFile(file) || Files.size(file) > MAX_JNI_BYTES) {
                return false;
            }
            try (InputStream in = Files.newInputStream(file)) {
                byte[] buf = new byte[1 << 20];
                int keep = 0;
                int n;
                while ((n = in.read(buf, keep, buf.length - keep)) > 0) {
                    int len = keep + n;
                    if (indexOf(buf, len, needle) >= 0) {
                        return true;
                    }
                    keep = Math.min(needle.length - 1, len);
                    System.arraycopy(buf, len - keep, buf, 0, keep);
                }
            }
        } catch (IOException e) {
            return false;
        }
        return false;
    }

    private static int indexOf(byte[] hay, int len, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= len; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
