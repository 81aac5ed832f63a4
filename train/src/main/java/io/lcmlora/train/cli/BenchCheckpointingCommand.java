package io.lcmlora.train.cli;

import io.lcmlora.bench.UNetBenchmark;
import io.lcmlora.model.unet.GradientCheckpointing;
import io.lcmlora.model.unet.UNet2DConditionConfig;
import io.lcmlora.train.distill.CheckpointingBenchmark;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code lcm bench checkpointing}: LCD-step peak RSS and time per checkpointing mode, or no-grad forward RSS growth. */
@Command(name = "checkpointing", mixinStandardHelpOptions = true,
        description = "Peak RSS and time of one LCD update at a gradient_checkpointing mode (random weights), or with"
                + " --no-grad-forward the RSS growth of one no-grad UNet forward. Run one measurement per process.")
public final class BenchCheckpointingCommand implements Callable<Integer> {
    @Option(names = "--unet-config", description = "a diffusers UNet config.json (e.g. ../shared/peer/unets/mid/config.json)")
    Path unetConfig;

    @Option(names = "--preset", description = "instead of --unet-config: tiny, mid or sdxl")
    String preset;

    @Option(names = "--mode", defaultValue = "false", description = "false, true (= blocks), blocks or transformer")
    String mode;

    @Option(names = "--no-grad-forward", paramLabel = "scoped|unscoped",
            description = "measure one no-grad forward, with per-block scopes (scoped) or without (unscoped)")
    String noGradForward;

    @Option(names = "--latent", defaultValue = "32", description = "latent height = width")
    int latent;

    @Option(names = "--batch", defaultValue = "2")
    int batch;

    @Option(names = "--rank", defaultValue = "32", description = "LoRA rank")
    int rank;

    @Option(names = "--steps", defaultValue = "2", description = "timed LCD updates (one more runs first as warm-up)")
    int steps;

    @Option(names = "--no-warmup", description = "time the first update too (no untimed warm-up update)")
    boolean noWarmup;

    @Override
    public Integer call() throws Exception {
        if ((unetConfig == null) == (preset == null)) {
            throw new IllegalArgumentException("give exactly one of --unet-config and --preset");
        }
        UNet2DConditionConfig cfg = unetConfig != null ? UNet2DConditionConfig.read(unetConfig) : UNetBenchmark.preset(preset);
        String name = unetConfig != null ? unetConfig.toString() : preset;
        if (noGradForward != null) {
            boolean scoped = switch (noGradForward) {
                case "scoped" -> true;
                case "unscoped" -> false;
                default -> throw new IllegalArgumentException("--no-grad-forward '" + noGradForward + "': expected scoped or unscoped");
            };
            System.out.println(CheckpointingBenchmark.noGradForward(cfg, name, latent, batch, scoped));
        } else {
            System.out.println(CheckpointingBenchmark.step(cfg, name, latent, batch, rank, GradientCheckpointing.parse(mode), steps,
                    !noWarmup));
        }
        return 0;
    }
}
