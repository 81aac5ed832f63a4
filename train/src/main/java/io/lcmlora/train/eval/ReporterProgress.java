package io.lcmlora.train.eval;

import io.lcmlora.train.log.ProgressReporter;
import java.io.PrintStream;

/**
 * Sweep progress on a {@link ProgressReporter}: a bar with ETA over all the sweep's images on a terminal, a plain line
 * about every 1% of them otherwise.
 */
public final class ReporterProgress implements SweepProgress {
    private final PrintStream out;
    private final boolean interactive;
    private ProgressReporter reporter;

    public ReporterProgress(PrintStream out, boolean interactive) {
        this.out = out;
        this.interactive = interactive;
    }

    @Override
    public void start(long total, long alreadyDone) {
        if (alreadyDone == total) {
            message("all " + total + " images exist; nothing to generate");
            return;
        }
        if (alreadyDone > 0) {
            message("resuming: " + alreadyDone + " of " + total + " images exist and are kept");
        }
        reporter = new ProgressReporter(out, interactive, "images", total, alreadyDone, (int) Math.max(1, total / 100),
                System::nanoTime);
    }

    @Override
    public void images(long done, String setting) {
        reporter.update(done, setting);
    }

    @Override
    public void message(String text) {
        if (reporter != null) {
            reporter.message(text);
        } else {
            out.println(text);
        }
        out.flush();
    }
}
