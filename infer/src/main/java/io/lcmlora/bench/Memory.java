package io.lcmlora.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Process memory readings from /proc (Linux): current and peak resident set size, minor page faults. */
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

    /**
     * Minor page faults of the process so far (field 10 of /proc/self/stat; -1 when unavailable): each is a page
     * touched for the first time since it was mapped, zeroed by the kernel, which a fresh allocation pays per 4 KiB.
     */
    public static long minorFaults() {
        try {
            String stat = Files.readString(Path.of("/proc/self/stat"));
            // after "pid (comm) ": state ppid pgrp session tty_nr tpgid flags minflt ...
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(f[7]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
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
