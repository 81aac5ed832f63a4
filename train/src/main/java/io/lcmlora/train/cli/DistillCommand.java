package io.lcmlora.train.cli;

import io.lcmlora.train.config.ConfigOptions;
import io.lcmlora.train.config.TrainConfig;
import io.lcmlora.train.distill.Distiller;
import io.lcmlora.train.parallel.DistributedException;
import io.lcmlora.train.parallel.World;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code lcm distill --config FILE [--set k=v]... [--resume latest|DIR] [--print-config] [--global-batch-size N]};
 * under {@code mpirun -np N} every process is one rank of a data-parallel run.
 */
@Command(name = "distill", mixinStandardHelpOptions = true,
        description = "Distill an LCM-LoRA from a frozen SDXL teacher (latent consistency distillation). "
                + "Data parallel when started by mpirun: one process per device, LoRA gradients averaged every step.")
public final class DistillCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions config;

    @Option(names = "--global-batch-size", paramLabel = "N",
            description = "the batch over all ranks: distill.train_batch_size becomes N / world size (an error when "
                    + "the world size does not divide N), so one config gives the same run on any number of processes")
    Integer globalBatchSize;

    @Override
    public Integer call() throws Exception {
        World world = World.detect();
        return World.run(world, () -> {
            PrintStream out = world.isMainProcess() ? System.out : new PrintStream(OutputStream.nullOutputStream());
            TrainConfig c = config.resolveAndMaybePrint(out);
            if (config.printConfig()) {
                return 0;
            }
            if (globalBatchSize != null) {
                c = perRank(c, globalBatchSize, world.size());
            }
            Distiller.RunResult r = Distiller.run(c, System.out, Distiller.Options.defaults(), world);
            out.println("done: steps " + r.startStep() + " -> " + r.endStep() + ", final LoRA " + r.finalLora());
            return 0;
        });
    }

    /** The config with {@code distill.train_batch_size} = global / world size. */
    static TrainConfig perRank(TrainConfig c, int global, int worldSize) {
        if (global < 1 || global % worldSize != 0) {
            throw new DistributedException("--global-batch-size " + global + " cannot be split over " + worldSize
                    + " ranks: use a multiple of the world size (e.g. " + Math.max(1, global / worldSize) * worldSize
                    + ") or another number of processes");
        }
        return TrainConfig.parse(c.toYaml(), List.of("distill.train_batch_size=" + global / worldSize));
    }
}
