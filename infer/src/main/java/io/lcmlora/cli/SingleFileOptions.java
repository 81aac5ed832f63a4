package io.lcmlora.cli;

import io.lcmlora.singlefile.SingleFileConfigs;
import java.io.IOException;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The configs a single-file {@code --model} is read with (a picocli mixin); neither option: the preset that fits. */
public final class SingleFileOptions {
    @Option(names = "--config", paramLabel = "PRESET",
            description = "for a single-file --model: the config preset (sdxl, tiny); default: the preset whose shapes fit")
    String preset;

    @Option(names = "--config-from", paramLabel = "DIR",
            description = "for a single-file --model: a diffusers SDXL folder whose unet/, vae/, text_encoder/, text_encoder_2/ "
                    + "config.json describe the checkpoint")
    Path configFrom;

    /** The chosen configs, or null to let the checkpoint pick the preset that fits. */
    public SingleFileConfigs configs() throws IOException {
        if (preset != null && configFrom != null) {
            throw new IllegalArgumentException("--config and --config-from exclude each other");
        }
        return preset != null ? SingleFileConfigs.preset(preset) : configFrom != null ? SingleFileConfigs.fromDir(configFrom) : null;
    }
}
