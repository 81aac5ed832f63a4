package io.lcmlora.train.cli;

import io.lcmlora.train.config.ConfigOptions;
import io.lcmlora.train.config.TrainConfig;
import io.lcmlora.train.distill.Distiller;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code lcm distill --config FILE [--set k=v]... [--resume latest|DIR] [--print-config]}. */
@Command(name = "distill", mixinStandardHelpOptions = true,
        description = "Distill an LCM-LoRA from a frozen SDXL teacher (latent consistency distillation).")
public final class DistillCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions config;

    @Override
    public Integer call() throws Exception {
        TrainConfig c = config.resolveAndMaybePrint(System.out);
        if (config.printConfig()) {
            return 0;
        }
        Distiller.RunResult r = Distiller.run(c, System.out);
        System.out.println("done: steps " + r.startStep() + " -> " + r.endStep() + ", final LoRA " + r.finalLora());
        return 0;
    }
}
