package io.lcmlora.train.pretrain;

import io.lcmlora.train.config.RecordYaml;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code lcm pretrain --config configs/demo/pretrain-unet.yaml}: one stage of the demo's from-scratch teacher. */
@Command(name = "pretrain", mixinStandardHelpOptions = true,
        description = "Train a stage of the tiny SDXL-architecture demo teacher (vae, text, unet, finetune) from a YAML config.")
public final class PretrainCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--config", required = true, paramLabel = "FILE", description = "stage config (configs/demo/*.yaml)")
    Path config;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "override one key, value parsed as YAML (repeatable), e.g. --set train.steps=300")
    List<String> overrides = new ArrayList<>();

    @Option(names = "--force", description = "run even if the stage's output exists (it is replaced)")
    boolean force;

    @Option(names = "--print-config", description = "print the resolved config as YAML and exit")
    boolean printConfig;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        PretrainConfig c = RecordYaml.load(config, PretrainConfig.class, PretrainConfig.defaults(), overrides);
        if (printConfig) {
            out.print(RecordYaml.toYaml(c));
            out.flush();
            return 0;
        }
        Pretrain.run(c, force, line -> {
            out.println(line);
            out.flush();
        });
        return 0;
    }
}
