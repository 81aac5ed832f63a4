package io.lcmlora.cli;

import io.lcmlora.bench.SamplingBenchmark;
import io.lcmlora.bench.UNetBenchmark;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code lcm bench}: speed and memory benchmarks (numbers for the README, not tests). */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Speed and memory benchmarks.",
        subcommands = {BenchCommand.Unet.class, BenchCommand.Attention.class, BenchCommand.Sample.class})
public final class BenchCommand implements Runnable {
    @Override
    public void run() {
        new picocli.CommandLine(this).usage(System.out);
    }

    @Command(name = "unet", mixinStandardHelpOptions = true, description = "UNet forward time and peak RSS with random weights.")
    static final class Unet implements Callable<Integer> {
        @Option(names = "--preset", defaultValue = "sdxl", description = "sdxl, mid or tiny")
        String preset;

        @Option(names = "--latent", defaultValue = "32", description = "latent height = width (pixels / 8)")
        int latent;

        @Option(names = "--batch", defaultValue = "1")
        int batch;

        @Option(names = "--reps", defaultValue = "3")
        int reps;

        @Override
        public Integer call() {
            System.out.println(UNetBenchmark.unet(preset, latent, batch, reps));
            return 0;
        }
    }

    @Command(name = "attention", mixinStandardHelpOptions = true, description = "Fused attention time and memory.")
    static final class Attention implements Callable<Integer> {
        @Option(names = "--tokens", defaultValue = "4096")
        int tokens;

        @Option(names = "--heads", defaultValue = "10")
        int heads;

        @Option(names = "--head-dim", defaultValue = "64")
        int headDim;

        @Option(names = "--reps", defaultValue = "3")
        int reps;

        @Override
        public Integer call() {
            System.out.println(UNetBenchmark.attention(tokens, heads, headDim, reps));
            return 0;
        }
    }

    @Command(name = "sample", mixinStandardHelpOptions = true,
            description = "LCM sampling time and peak RSS: no LoRA, a random LoRA unfused, the same fused.")
    static final class Sample implements Callable<Integer> {
        @Option(names = "--preset", defaultValue = "tiny", description = "sdxl, mid or tiny (default ${DEFAULT-VALUE})")
        String preset;

        @Option(names = "--latent", defaultValue = "16", description = "latent height = width (default ${DEFAULT-VALUE})")
        int latent;

        @Option(names = "--steps", defaultValue = "4")
        int steps;

        @Option(names = "--rank", defaultValue = "64", description = "rank of the random LoRA (default ${DEFAULT-VALUE})")
        int rank;

        @Option(names = "--reps", defaultValue = "2")
        int reps;

        @Override
        public Integer call() {
            SamplingBenchmark.sample(preset, latent, steps, rank, reps).forEach(System.out::println);
            return 0;
        }
    }
}
