package io.lcmlora.train.cli;

import io.lcmlora.train.config.EvalConfig;
import io.lcmlora.train.config.YamlConfig;
import io.lcmlora.train.eval.EvalRun;
import io.lcmlora.train.eval.FeatureExtractors;
import io.lcmlora.train.eval.PipelineGenerator;
import io.lcmlora.train.eval.ReporterProgress;
import io.lcmlora.train.eval.SampleGenerator;
import io.lcmlora.train.eval.SweepResults;
import io.lcmlora.train.eval.SweepProgress;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lcm eval --config configs/eval-X.yaml}: an FID sweep over sampler settings (LCM-LoRA at 1/2/4/8 steps, the
 * teacher's DDIM at 4..50 steps, guidance values), resumable; writes PNG samples, grids, results.json, results.md and
 * fid_vs_steps.png under the config's output_dir.
 */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "FID sweep: generate held-out prompts under each sampler setting, compare with the reference "
                + "images, write results.json, results.md, sample grids and an FID-vs-steps plot. Rerun to resume.")
public final class EvalCommand implements Callable<Integer> {
    @Option(names = "--config", required = true, paramLabel = "FILE", description = "sweep config (YAML)")
    Path config;

    @Option(names = "--set", paramLabel = "KEY=VALUE",
            description = "override one key, value parsed as YAML (repeatable), e.g. --set output_dir=runs/eval2")
    List<String> overrides = new ArrayList<>();

    @Option(names = "--print-config", description = "print the resolved config as YAML and exit")
    boolean printConfig;

    @Override
    public Integer call() throws IOException {
        EvalConfig c = EvalConfig.load(config, overrides);
        if (printConfig) {
            System.out.print(YamlConfig.toYaml(c));
            return 0;
        }
        run(c, PipelineGenerator::open, FeatureExtractors.standard(),
                new ReporterProgress(System.out, System.console() != null), System.out);
        return 0;
    }

    /** Runs the sweep and prints the table's essentials and where the outputs are ({@link EvalRun#run}). */
    public static SweepResults run(EvalConfig config, SampleGenerator.Factory generators, FeatureExtractors extractors,
            SweepProgress progress, PrintStream out) throws IOException {
        return EvalRun.run(config, generators, extractors, progress, out);
    }
}
