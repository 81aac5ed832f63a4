package io.lcmlora.train.cli;

import io.lcmlora.train.config.TrainConfig;
import io.lcmlora.train.distill.DistillBenchmark;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code lcm bench distill}: distillation step time and peak RSS, on a config's data or a random-weight preset. */
@Command(name = "distill", mixinStandardHelpOptions = true,
        description = "Distillation step time and peak RSS (--config: a real run, cached or not; --preset: random weights).")
public final class BenchDistillCommand implements Callable<Integer> {
    @Option(names = "--config", description = "a distill config (e.g. configs/tiny.yaml)")
    Path config;

    @Option(names = "--uncached", description = "with --config: encode every batch (cache.enabled false)")
    boolean uncached;

    @Option(names = "--preset", description = "random-weight UNet instead of a config: tiny, mid or sdxl")
    String preset;

    @Option(names = "--latent", defaultValue = "32", description = "with --preset: latent height = width")
    int latent;

    @Option(names = "--batch", defaultValue = "1", description = "with --preset: batch size")
    int batch;

    @Option(names = "--rank", defaultValue = "64", description = "with --preset: LoRA rank")
    int rank;

    @Option(names = "--steps", defaultValue = "5", description = "timed steps (one more runs first as warm-up)")
    int steps;

    @Override
    public Integer call() throws Exception {
        if ((config == null) == (preset == null)) {
            throw new IllegalArgumentException("give exactly one of --config and --preset");
        }
        if (preset != null) {
            System.out.println(DistillBenchmark.preset(preset, latent, batch, steps, rank));
            return 0;
        }
        Path scratch = Files.createTempDirectory("lcm-bench-distill");
        try {
            System.out.println(DistillBenchmark.config(TrainConfig.load(config, List.of()), !uncached, steps + 1, scratch,
                    new PrintStream(new ByteArrayOutputStream())));
        } finally {
            try (var s = Files.walk(scratch)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        return 0;
    }
}
