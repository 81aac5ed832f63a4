package io.lcmlora.bench;

import ai.djl.pytorch.jni.JniUtils;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * Per-iteration wall times of a benchmark loop (warm-up excluded) and its memory: the process peak RSS (setup
 * included) and the loop's own peak (the kernel's peak counter reset after setup, so the warm-up iterations count
 * but the model build does not), the same two numbers {@code ../shared/peer/peer_bench.py} reports. Beside the wall
 * times, the process CPU seconds of each iteration (all threads: compute, GC, JIT): on a machine shared with other
 * jobs they move far less than wall time, so they compare two builds of this project; the peer reports wall time
 * only, so ratios to it use {@code median_s}. And the minor page faults per timed iteration ({@code faults_per_iter},
 * -1 where /proc does not tell): every fresh page a tensor allocation touches, a cost of the allocator, not of the
 * kernels.
 */
public record LoopStats(String config, String measure, double[] seconds, double[] cpuSeconds, double peakRssMiB,
        double peakLoopMiB, double setupRssMiB, int warmup, double faultsPerIteration) {
    public LoopStats {
        if (seconds.length == 0) {
            throw new IllegalArgumentException(config + "/" + measure + ": no timed iterations");
        }
        if (cpuSeconds.length != seconds.length) {
            throw new IllegalArgumentException(config + "/" + measure + ": " + cpuSeconds.length + " CPU times for "
                    + seconds.length + " iterations");
        }
        seconds = seconds.clone();
        cpuSeconds = cpuSeconds.clone();
    }

    /** One iteration of the measured workload. */
    @FunctionalInterface
    public interface Body {
        void run(int iteration);
    }

    /** Runs {@code warmup} untimed then {@code iters} timed iterations of {@code body}. */
    public static LoopStats run(String config, String measure, int warmup, int iters, Body body) {
        return run(config, measure, warmup, iters, body, null);
    }

    /**
     * As {@link #run(String, String, int, int, Body)}; with {@code profile} non-null, libtorch's profiler records the
     * timed iterations only (not setup or warm-up, and their times then include the profiler's own cost) and writes
     * them to that file as a Chrome trace (one event per engine op, with input shapes).
     */
    public static LoopStats run(String config, String measure, int warmup, int iters, Body body, Path profile) {
        if (warmup < 0 || iters < 1) {
            throw new IllegalArgumentException("warm-up must be >= 0 and iterations >= 1, got " + warmup + " and " + iters);
        }
        double setupPeak = Memory.peakRssMiB();
        double setupRss = Memory.rssMiB();
        boolean reset = Memory.resetPeak();
        for (int i = 0; i < warmup; i++) {
            body.run(i);
        }
        double[] t = new double[iters];
        double[] cpu = new double[iters];
        long faults = Memory.minorFaults();
        if (profile != null) {
            JniUtils.startProfile(false, true, false);
        }
        try {
            for (int i = 0; i < iters; i++) {
                long c = processCpuNanos();
                long s = System.nanoTime();
                body.run(warmup + i);
                t[i] = (System.nanoTime() - s) / 1e9;
                cpu[i] = (processCpuNanos() - c) / 1e9;
            }
        } finally {
            if (profile != null) {
                JniUtils.stopProfile(profile.toAbsolutePath().toString());
            }
        }
        long faulted = Memory.minorFaults();
        double loopPeak = Memory.peakRssMiB();
        return new LoopStats(config, measure, t, cpu, Math.max(setupPeak, loopPeak), reset ? loopPeak : -1, setupRss,
                warmup, faults < 0 || faulted < 0 ? -1 : (faulted - faults) / (double) iters);
    }

    /** CPU time of the whole process (all threads), nanoseconds; -1 where the JVM does not report it. */
    private static long processCpuNanos() {
        return java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                instanceof com.sun.management.OperatingSystemMXBean os ? os.getProcessCpuTime() : -1;
    }

    /** The median per-iteration process CPU seconds. */
    public double cpuMedian() {
        return median(cpuSeconds);
    }

    public double min() {
        return Arrays.stream(seconds).min().orElseThrow();
    }

    public double max() {
        return Arrays.stream(seconds).max().orElseThrow();
    }

    /** The median (mean of the middle two for an even count, as Python's statistics.median). */
    public double median() {
        return median(seconds);
    }

    private static double median(double[] values) {
        double[] s = values.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    /**
     * One line, key=value, the peer's names ({@code median_s min_s max_s peak_rss_mb peak_loop_mb}), then this side's
     * {@code cpu_median_s} and {@code faults_per_iter}.
     */
    @Override
    public String toString() {
        return String.format(Locale.ROOT, "config=%s measure=%s median_s=%.4f min_s=%.4f max_s=%.4f peak_rss_mb=%.1f "
                + "peak_loop_mb=%.1f rss_after_setup_mb=%.1f iters=%d warmup=%d cpu_median_s=%.4f faults_per_iter=%.0f", config,
                measure, median(), min(), max(), peakRssMiB, peakLoopMiB, setupRssMiB, seconds.length, warmup, cpuMedian(),
                faultsPerIteration);
    }
}
