package io.lcmlora.train.cli;

import io.lcmlora.bench.LoopStats;
import io.lcmlora.bench.Workload;
import io.lcmlora.bench.WorkloadBenchmark;
import io.lcmlora.train.distill.DistillBenchmark;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lcm bench workload}: one of the nine side-by-side cells (config public/small/mid x measure
 * unet_fwd/sample4/lcd_step) as {@code ../shared/peer/peer_bench.py} times them; one line per run. Run each cell in
 * its own JVM for a peak RSS that belongs to it alone ({@code tools/bench-vs-peer.sh} does).
 */
@Command(name = "workload", mixinStandardHelpOptions = true,
        description = "One side-by-side cell: per-iteration min/median/max and peak RSS (process and loop).")
public final class BenchWorkloadCommand implements Callable<Integer> {
    @Option(names = "--config", required = true, description = "public, small or mid")
    String config;

    @Option(names = "--measure", required = true, description = "unet_fwd, sample4 or lcd_step")
    String measure;

    @Option(names = "--iters", defaultValue = "5", description = "timed iterations (default ${DEFAULT-VALUE})")
    int iters;

    @Option(names = "--warmup", defaultValue = "1", description = "untimed warm-up iterations (default ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--unet", description = "the UNet folder instead of the config's (config.json, weights optional)")
    Path unet;

    @Option(names = "--root", defaultValue = ".", description = "repository root the config paths are relative to")
    Path root;

    @Option(names = "--accumulation", defaultValue = "1",
            description = "lcd_step: micro-batches per update (gradient accumulation; default ${DEFAULT-VALUE})")
    int accumulation;

    @Option(names = "--profile", description = "write libtorch's profile of the timed iterations (engine ops with input"
            + " shapes; times then include the profiler's cost) to this Chrome-trace JSON file")
    Path profile;

    @Override
    public Integer call() throws Exception {
        Workload w = Workload.named(config, root);
        if (unet != null) {
            w = w.withUnet(unet);
        }
        Workload.Measure m = Workload.Measure.parse(measure);
        if (accumulation != 1 && m != Workload.Measure.LCD_STEP) {
            throw new IllegalArgumentException("--accumulation applies to lcd_step only");
        }
        LoopStats s = switch (m) {
            case UNET_FWD -> WorkloadBenchmark.unetForward(w, warmup, iters, profile);
            case SAMPLE4 -> WorkloadBenchmark.sample4(w, warmup, iters, profile);
            case LCD_STEP -> DistillBenchmark.workload(w, warmup, iters, accumulation, profile);
        };
        System.out.println(s + " batch=" + w.batch() + " latent=" + w.latent() + "x" + w.latent() + " rank=" + w.rank()
                + " threads=" + System.getProperty("ai.djl.pytorch.num_threads", "default")
                + " aten_cpu_capability=" + System.getenv().getOrDefault("ATEN_CPU_CAPABILITY", "default"));
        return 0;
    }
}
