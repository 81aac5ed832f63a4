package io.lcmlora.train.eval;

import io.lcmlora.pipeline.GeneratedImage;
import io.lcmlora.pipeline.PngImages;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * Sweep image files: always PNG (lossless; JPEG would shift FID), written atomically, with the generation settings
 * in the {@code parameters} text chunk when the generator gave them.
 */
final class SweepImages {
    private SweepImages() {}

    static void writePng(Path file, SampleGenerator.Sample sample) throws IOException {
        if (!file.getFileName().toString().endsWith(".png")) {
            throw new IllegalArgumentException(file + ": sweep images are written as PNG only");
        }
        PngImages.write(file, sample.image(), sample.parameters() == null ? Map.of()
                : Map.of(GeneratedImage.PARAMETERS_KEY, sample.parameters()));
    }
}
