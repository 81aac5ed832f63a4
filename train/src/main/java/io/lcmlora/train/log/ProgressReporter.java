package io.lcmlora.train.log;

import java.io.PrintStream;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * Training progress: on a terminal ({@code System.console() != null}) one bar redrawn in place with loss, learning
 * rate, throughput and ETA; otherwise (logs, CI, pipes) a plain line every {@code every} steps and at the end.
 * The ETA is the mean step time of this session times the steps left (a resumed run counts from its start step).
 */
public final class ProgressReporter {
    static final int BAR_WIDTH = 30;

    private final PrintStream out;
    private final boolean interactive;
    private final long total;
    private final long start;
    private final int every;
    private final LongSupplier nanoClock;
    private final long t0;
    private boolean barDrawn;

    public ProgressReporter(PrintStream out, boolean interactive, long totalSteps, long startStep, int every,
            LongSupplier nanoClock) {
        if (totalSteps < 1 || startStep < 0 || startStep > totalSteps || every < 1) {
            throw new IllegalArgumentException("bad progress: total " + totalSteps + ", start " + startStep + ", every " + every);
        }
        this.out = out;
        this.interactive = interactive;
        this.total = totalSteps;
        this.start = startStep;
        this.every = every;
        this.nanoClock = nanoClock;
        this.t0 = nanoClock.getAsLong();
    }

    /** A bar on a terminal, plain lines every {@code every} steps otherwise. */
    public static ProgressReporter forTerminal(long totalSteps, long startStep, int every) {
        return new ProgressReporter(System.out, System.console() != null, totalSteps, startStep, every, System::nanoTime);
    }

    /** Reports that {@code step} optimizer steps are done. */
    public void step(long step, double loss, double lr, double imagesPerSecond) {
        double elapsed = (nanoClock.getAsLong() - t0) / 1e9;
        double eta = step > start ? elapsed / (step - start) * (total - step) : Double.NaN;
        if (interactive) {
            out.print("\r" + bar(step, total, loss, lr, imagesPerSecond, elapsed, eta));
            barDrawn = true;
            if (step >= total) {
                out.println();
                barDrawn = false;
            }
            out.flush();
        } else if (step % every == 0 || step >= total) {
            out.println(line(step, total, loss, lr, imagesPerSecond, elapsed, eta));
        }
    }

    /** Prints a message on its own line without mangling the bar. */
    public void message(String text) {
        if (barDrawn) {
            out.print("\r" + " ".repeat(BAR_WIDTH + 80) + "\r");
            barDrawn = false;
        }
        out.println(text);
    }

    static String bar(long step, long total, double loss, double lr, double ips, double elapsed, double eta) {
        double frac = Math.min(1.0, (double) step / total);
        int filled = (int) Math.round(frac * BAR_WIDTH);
        String bar = "=".repeat(Math.max(0, filled - 1)) + (filled > 0 ? (filled == BAR_WIDTH ? "=" : ">") : "")
                + " ".repeat(BAR_WIDTH - filled);
        return String.format(Locale.ROOT, "%d/%d [%s] %3d%% loss %.4g lr %.2e %.2f img/s %s<%s", step, total, bar,
                (int) Math.floor(frac * 100), loss, lr, ips, clock(elapsed), clock(eta));
    }

    static String line(long step, long total, double loss, double lr, double ips, double elapsed, double eta) {
        return String.format(Locale.ROOT, "step %d/%d (%.1f%%) loss %.6g lr %.3e %.2f img/s elapsed %s eta %s", step,
                total, 100.0 * step / total, loss, lr, ips, clock(elapsed), clock(eta));
    }

    /** h:mm:ss, or ?:??:?? when unknown. */
    static String clock(double seconds) {
        if (!Double.isFinite(seconds) || seconds < 0) {
            return "?:??:??";
        }
        long s = Math.round(seconds);
        return String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
    }
}
