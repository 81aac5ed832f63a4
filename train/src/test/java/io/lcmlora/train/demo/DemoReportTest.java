package io.lcmlora.train.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lcmlora.train.eval.PromptBootstrap;
import io.lcmlora.train.eval.SweepResults;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The demo's verdicts: judged by the bound of the ratio's paired bootstrap interval. */
class DemoReportTest {
    static DemoReport.Target target(double lo, double hi) {
        return new DemoReport.Target("x", (lo + hi) / 2, new PromptBootstrap.Interval(lo, hi), 1.15);
    }

    @Test
    void verdictsFollowTheIntervalNotThePointEstimate() {
        assertEquals(DemoReport.Verdict.MET, target(1.0, 1.15).verdict());
        assertEquals(DemoReport.Verdict.NOT_MET, target(1.16, 1.4).verdict());
        // point estimate 1.10 is below the bound, but the interval reaches above it
        DemoReport.Target straddle = new DemoReport.Target("x", 1.10, new PromptBootstrap.Interval(0.98, 1.30), 1.15);
        assertEquals(DemoReport.Verdict.UNDECIDED, straddle.verdict());
        assertEquals("- x: 1.10 [0.98, 1.30] (target <= 1.15): undecided", straddle.line());
        assertEquals(DemoReport.Verdict.NO_INTERVAL, new DemoReport.Target("x", 1.0, null, 1.15).verdict());
    }

    static SweepResults.Setting setting(String name, double fid, double[] replicates) {
        return new SweepResults.Setting(name, name, "m", "p", "lcm", 4, 1, List.of(), null, fid, null, 10, 10, 5, null,
                null, null, null, name, "g.png", 0, 0, null, List.of(), replicates, null, null);
    }

    @Test
    void ratioIntervalsArePairedReplicateByReplicate() {
        // a's replicates are exactly 1.5 x b's: every paired ratio is 1.5, though each FID varies widely
        double[] b = {2, 9, 4, 7, 5, 3, 8, 6};
        double[] a = new double[b.length];
        for (int i = 0; i < b.length; i++) {
            a[i] = 1.5 * b[i];
        }
        SweepResults r = new SweepResults(SweepResults.FORMAT, SweepResults.VERSION, "p", 5, List.of(0L), 2, 32, 32,
                "e", "none", 8, new SweepResults.Reference("s", 10, "src"),
                new SweepResults.Bootstrap("prompt", 5, b.length, 0, 0.9), null, null,
                List.of(setting("a", 7.5, a), setting("b", 5, b)));
        PromptBootstrap.Interval iv = r.fidRatioInterval(r.setting("a"), r.setting("b"));
        assertEquals(1.5, iv.low(), 1e-12);
        assertEquals(1.5, iv.high(), 1e-12);
        // unpaired, the same replicates would give a ratio spread of [2/9 x 1.5, 9/2 x 1.5]
        assertTrue(PromptBootstrap.percentile(a, 0.9).high() / PromptBootstrap.percentile(b, 0.9).low() > 3);
        assertNull(r.fidRatioInterval(setting("c", 1, null), r.setting("b")));
    }
}
