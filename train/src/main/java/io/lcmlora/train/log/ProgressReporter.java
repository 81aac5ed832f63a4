package io.lcmlora.train.log;

import java.io.PrintStream;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * Progress of a long run (training steps, sweep images): on a terminal ({@code System.console() != null}) one bar
 * redrawn in place with the run's details and ETA; otherwise (logs, CI, pipes) a plain line each time the count
 * passes a multiple of {@code every}, and at the end. The ETA is the mean time per unit of this session times the
 * units left (a resumed run counts from its start).
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
    private final String unit;
    private long last;
    private boolean barDrawn;

    public ProgressReporter(PrintStream out, boolean interactive, long totalSteps, long startStep, int every,
            LongSupplier nanoClock) {
        this(out, interactive, "step", totalSteps, startStep, every, nanoClock);
    }

    /** {@code unit} starts each plain line ({@code step 30/100 ...}, {@code images 40/200 ...}). */
    public ProgressReporter(PrintStream out, boolean interactive, String unit, long total, long start, int every,
            LongSupplier nanoClock) {
        if (total < 1 || start < 0 || start > total || every < 1) {
            throw new IllegalArgumentException("bad progress: total " + total + ", start " + start + ", every " + every);
        }
        this.out = out;
        this.interactive = interactive;
        this.unit = unit;
        this.total = total;
        this.start = start;
        this.last = start;
        this.every = every;
        this.nanoClock = nanoClock;
        this.t0 = nanoClock.getAsLong();
    }

    /** Reports that {@code step} optimizer steps are done. */
    public void step(long step, double loss, double lr, double imagesPerSecond) {
        update(step, String.format(Locale.ROOT, "loss %.4g lr %.2e %.2f img/s", loss, lr, imagesPerSecond),
                String.format(Locale.ROOT, "loss %.6g lr %.3e %.2f img/s", loss, lr, imagesPerSecond));
    }

    /** Reports that {@code done} units are done; {@code detail} (may be empty) follows the count. */
    public void update(long done, String detail) {
        update(done, detail, detail);
    }

    private void update(long done, String barDetail, String lineDetail) {
        double elapsed = (nanoClock.getAsLong() - t0) / 1e9;
        double eta = done > start ? elapsed / (done - start) * (total - done) : Double.NaN;
        if (interactive) {
            out.print("\r" + bar(done, total, barDetail, elapsed, eta));
            barDrawn = true;
            if (done >= total) {
                out.println();
                barDrawn = false;
            }
            out.flush();
        } else if (done / every > last / every || done >= total) {
            out.println(line(unit, done, total, lineDetail, elapsed, eta));
        }
        last = done;
    }

    /** Prints a message on its own line without mangling the bar. */
    public void message(String text) {
        if (barDrawn) {
            out.print("\r" + " ".repeat(BAR_WIDTH + 80) + "\r");
            barDrawn = false;
        }
        out.println(text);
    }

    static String bar(long step, long total, String detail, double elapsed, double eta) {
        double frac = Math.min(1.0, (double) step / total);
        int filled = (int) Math.round(frac * BAR_WIDTH);
        String bar = "=".repeat(Math.max(0, filled - 1)) + (filled > 0 ? (filled == BAR_WIDTH ? "=" : ">") : "")
                + " ".repeat(BAR_WIDTH - filled);
        return String.format(Locale.ROOT, "%d/%d [%s] %3d%% %s%s<%s", step, total, bar, (int) Math.floor(frac * 100),
                detail.isEmpty() ? "" : detail + " ", clock(elapsed), clock(eta));
    }

    static String line(String unit, long step, long total, String detail, double elapsed, double eta) {
        return String.format(Locale.ROOT, "%s %d/%d (%.1f%%) %selapsed %s eta %s", unit, step, total, 100.0 * step / total,
                detail.isEmpty() ? "" : detail + " ", clock(elapsed), clock(eta));
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
