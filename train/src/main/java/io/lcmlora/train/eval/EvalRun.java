package io.lcmlora.train.eval;

import io.lcmlora.train.config.EvalConfig;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;

/** What {@code lcm eval} runs, callable by library code (the demo) without importing a command class. */
public final class EvalRun {
    private EvalRun() {}

    /** Runs the sweep and prints the table's essentials and where the outputs are. */
    public static SweepResults run(EvalConfig config, SampleGenerator.Factory generators, FeatureExtractors extractors,
            SweepProgress progress, PrintStream out) throws IOException {
        SweepResults r = EvalSweep.run(config, generators, extractors, progress);
        Path root = Path.of(config.outputDir());
        for (SweepResults.Setting s : r.settings()) {
            out.println(String.format(Locale.ROOT, "%-28s FID %10.3f  (%d samples, %d reference)", s.name(), s.fid(),
                    s.samples(), s.referenceSamples()));
        }
        out.println("wrote " + root.resolve(SweepLayout.RESULTS_JSON) + ", " + root.resolve(SweepLayout.RESULTS_MD) + ", "
                + root.resolve(SweepLayout.PLOT) + " and " + r.settings().size() + " grids");
        out.flush();
        return r;
    }
}
