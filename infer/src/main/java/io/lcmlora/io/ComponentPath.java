package io.lcmlora.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Resolves a component folder from what a user passes as {@code --model}: the component folder itself
 * ({@code .../unet} with a config.json), or a full diffusers pipeline folder holding it ({@code .../unet}).
 */
public final class ComponentPath {
    private ComponentPath() {}

    public static Path resolve(Path model, String component) throws IOException {
        if (Files.isRegularFile(model.resolve("config.json")) && !Files.isRegularFile(model.resolve("model_index.json"))) {
            return model;
        }
        Path sub = model.resolve(component);
        if (Files.isRegularFile(sub.resolve("config.json"))) {
            return sub;
        }
        throw new IOException(model + ": neither a " + component + " folder (config.json + weights) nor a diffusers "
                + "pipeline folder with " + component + "/config.json");
    }
}
