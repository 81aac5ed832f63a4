package io.lcmlora.pipeline;

import java.io.PrintStream;
import java.util.Locale;

/** Step progress of a sampling run. */
@FunctionalInterface
public interface Progress {
    /** Called with done = 0 before the first step, then after each step. */
    void update(String label, int done, int total);

    static Progress none() {
        return (label, done, total) -> { };
    }

    /**
     * A bar on a terminal ({@code \r}-redrawn, with seconds per step and ETA), plain lines otherwise (logs, pipes).
     */
    static Progress terminal(PrintStream out, boolean interactive) {
        return new Progress() {
            private long start;

            @Override
            public void update(String label, int done, int total) {
                long now = System.nanoTime();
                if (done == 0) {
                    start = now;
                }
                double perStep = done == 0 ? 0 : (now - start) / 1e9 / done;
                double eta = perStep * (total - done);
                if (interactive) {
                    int width = 24;
                    int filled = total == 0 ? width : width * done / total;
                    out.print(String.format(Locale.ROOT, "\r%s [%s%s] %d/%d %.2f s/step ETA %.0f s ", label, "#".repeat(filled),
                            ".".repeat(width - filled), done, total, perStep, eta));
                    if (done == total) {
                        out.println();
                    }
                    out.flush();
                } else if (done > 0) {
                    out.println(String.format(Locale.ROOT, "%s step %d/%d (%.2f s/step, ETA %.0f s)", label, done, total, perStep, eta));
                }
            }
        };
    }
}
