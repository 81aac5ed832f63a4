package io.lcmlora.train.cli;

import io.lcmlora.train.config.EvalConfig;
import io.lcmlora.train.config.YamlConfig;
import io.lcmlora.train.eval.EvalRun;
import io.lcmlora.train.eval.EvalSweep;
import io.lcmlora.train.eval.FeatureExtractors;
import io.lcmlora.train.eval.PipelineGenerator;
import io.lcmlora.train.eval.ReporterProgress;
import io.lcmlora.train.eval.SampleGenerator;
import io.lcmlora.train.eval.SweepResults;
import io.lcmlora.train.eval.SweepProgress;
import io.lcmlora.train.parallel.Shard;
import io.lcmlora.train.parallel.World;
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
 * fid_vs_steps.png under the config's output_dir. {@code --shard i/N} generates only that shard's images (any number
 * of shards, on any machines, into one output_dir); a final run without it measures every PNG. Under
 * {@code mpirun -np N} rank r is shard r/N and rank 0 computes the statistics once every rank is done.
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

    @Option(names = "--shard", paramLabel = "i/N",
            description = "generate only shard i of N (0-based) of the (prompt, seed) images and stop before the "
                    + "statistics; run once more without --shard (when every shard is done) to compute FID from the PNGs")
    String shard;

    @Override
    public Integer call() throws Exception {
        EvalConfig c = EvalConfig.load(config, overrides);
        if (printConfig) {
            System.out.print(YamlConfig.toYaml(c));
            return 0;
        }
        Shard given = shard == null ? null : Shard.parse(shard);
        World world = World.detect();
        return World.run(world, () -> {
            if (given != null && world.size() > 1) {
                throw new IllegalArgumentException("--shard " + given + " under mpirun with " + world.size()
                        + " ranks: the ranks already split the images (rank r is shard r/N); use one or the other");
            }
            SweepProgress progress = world.isMainProcess() ? new ReporterProgress(System.out, System.console() != null)
                    : SweepProgress.none(); // one progress line, not one per rank
            Shard mine = given != null ? given : Shard.of(world);
            if (!mine.isAll()) {
                long n = EvalSweep.generateShard(c, PipelineGenerator::open, progress, mine);
                progress.message("shard " + mine + ": its " + n + " images are in " + c.outputDir()
                        + (world.size() > 1 ? "" : "; when every shard is done, run this command without --shard "
                                + "for the statistics"));
                world.barrier();
                if (!world.isMainProcess() || given != null) {
                    return 0;
                }
            }
            run(c, PipelineGenerator::open, FeatureExtractors.standard(), progress, System.out);
            return 0;
        });
    }

    /** Runs the sweep and prints the table's essentials and where the outputs are ({@link EvalRun#run}). */
    public static SweepResults run(EvalConfig config, SampleGenerator.Factory generators, FeatureExtractors extractors,
            SweepProgress progress, PrintStream out) throws IOException {
        return EvalRun.run(config, generators, extractors, progress, out);
    }
}
