package io.lcmlora.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Process memory readings from /proc (Linux): current and peak resident set size. */
public final class Memory {
    private Memory() {}

    private static long statusKb(String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(field + ":")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }

    /** Current RSS in MiB (-1 when unavailable). */
    public static double rssMiB() {
        long kb = statusKb("VmRSS");
        return kb < 0 ? -1 : kb / 1024.0;
    }

    /** Peak RSS since start or the last {@link #resetPeak()} in MiB (-1 when unavailable). */
    public static double peakRssMiB() {
        long kb = statusKb("VmHWM");
        return kb < 0 ? -1 : kb / 1024.0;
    }

    /** Resets the kernel's peak-RSS counter (clear_refs 5); returns false where the kernel refuses. */
    public static boolean resetPeak() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
