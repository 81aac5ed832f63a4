package io.lcmlora.train.config;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * The config options of a training command, as a picocli mixin ({@code @Mixin ConfigOptions config;}):
 * {@code --config FILE}, repeatable {@code --set key=value}, {@code --resume latest|DIR} (same as
 * {@code --set checkpointing.resume=...}) and {@code --print-config}.
 */
public final class ConfigOptions {
    @Option(names = "--config", paramLabel = "FILE", description = "YAML config (keys not given take the reference recipe's defaults)")
    Path config;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "override one key, value parsed as YAML (repeatable), e.g. --set lora.rank=32")
    List<String> overrides = new ArrayList<>();

    @Option(names = "--resume", paramLabel = "latest|DIR", description = "continue from the newest complete checkpoint, or from DIR")
    String resume;

    @Option(names = "--print-config", description = "print the resolved config as YAML and exit")
    boolean printConfig;

    /** The config file with every override applied. */
    public TrainConfig resolve() throws IOException {
        List<String> all = new ArrayList<>(overrides);
        if (resume != null) {
            all.add("checkpointing.resume=" + resume);
        }
        return TrainConfig.load(config, all);
    }

    public boolean printConfig() {
        return printConfig;
    }

    /** Resolves and, when {@code --print-config} was given, prints; returns the config either way. */
    public TrainConfig resolveAndMaybePrint(PrintStream out) throws IOException {
        TrainConfig c = resolve();
        if (printConfig) {
            out.print(c.toYaml());
        }
        return c;
    }
}
