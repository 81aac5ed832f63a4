package io.lcmlora.pipeline;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** What {@code --model} names: a diffusers SDXL folder, or (once supported) a single-file checkpoint. */
public final class ModelSource {
    private ModelSource() {}

    /** Opens {@code path} as an {@link SdxlModel}: folders through {@link SdxlModel#load}, single files here. */
    public static SdxlModel open(Path path, LoadOptions options) throws IOException {
        if (Files.isDirectory(path)) {
            return SdxlModel.load(path, options);
        }
        if (!Files.exists(path)) {
            throw new IOException(path + ": no such model folder or file");
        }
        String name = path.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".safetensors")) {
            throw new UnsupportedOperationException(path + ": single-file checkpoints: not yet supported (pass a diffusers "
                    + "SDXL folder with model_index.json)");
        }
        throw new IOException(path + ": expected a diffusers SDXL folder (with model_index.json) or a .safetensors "
                + "checkpoint; .ckpt/.bin pickle files are never loaded");
    }
}
