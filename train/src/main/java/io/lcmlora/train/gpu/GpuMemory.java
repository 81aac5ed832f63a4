package io.lcmlora.train.gpu;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * Peak GPU memory of this process as the driver sees it (libtorch's caching allocator included), sampled every
 * 100 ms with {@code nvidia-smi --query-compute-apps}: DJL 0.36 exposes no CUDA memory statistics. Without
 * nvidia-smi, or on the CPU, every reading is NaN.
 */
final class GpuMemory implements AutoCloseable {
    private final Thread poller;
    private volatile double peakMiB = Double.NaN;
    private volatile boolean running = true;

    private GpuMemory(boolean poll) {
        if (!poll) {
            poller = null;
            return;
        }
        long pid = ProcessHandle.current().pid();
        poller = new Thread(() -> {
            while (running) {
                double now = sample(pid);
                if (!Double.isNaN(now) && (Double.isNaN(peakMiB) || now > peakMiB)) {
                    peakMiB = now;
                }
                try {
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "gpu-memory");
        poller.setDaemon(true);
        poller.start();
    }

    static GpuMemory start() {
        return new GpuMemory(true);
    }

    static GpuMemory none() {
        return new GpuMemory(false);
    }

    /** Starts a new peak (call after releasing the allocator's cache). */
    void reset() {
        peakMiB = Double.NaN;
    }

    double peakMiB() {
        return peakMiB;
    }

    static String format(double mib) {
        return Double.isNaN(mib) ? "n/a" : String.format(Locale.ROOT, "%.1f GiB", mib / 1024);
    }

    /** This process's used GPU memory in MiB, or NaN. */
    static double sample(long pid) {
        try {
            Process p = new ProcessBuilder("nvidia-smi", "--query-compute-apps=pid,used_memory",
                    "--format=csv,noheader,nounits").redirectErrorStream(true).start();
            double total = Double.NaN;
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    total = addIfOurs(line, pid, total);
                }
            }
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
            return total;
        } catch (IOException e) {
            return Double.NaN;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Double.NaN;
        }
    }

    /** Parses one {@code pid, used_memory} line; adds its MiB when the pid is ours. */
    static double addIfOurs(String line, long pid, double total) {
        String[] f = line.split(",");
        if (f.length != 2) {
            return total;
        }
        try {
            if (Long.parseLong(f[0].trim()) != pid) {
                return total;
            }
            double mib = Double.parseDouble(f[1].trim());
            return Double.isNaN(total) ? mib : total + mib;
        } catch (NumberFormatException e) {
            return total;
        }
    }

    @Override
    public void close() {
        running = false;
        if (poller != null) {
            poller.interrupt();
        }
    }
}
