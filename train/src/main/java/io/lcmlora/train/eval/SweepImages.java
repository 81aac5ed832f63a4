package io.lcmlora.train.eval;

import io.lcmlora.io.AtomicFiles;
import java.io.IOException;
import java.nio.file.Path;
import javax.imageio.ImageIO;

/** Sweep image files: always PNG (lossless; JPEG would shift FID), written atomically. */
final class SweepImages {
    private SweepImages() {}

    static void writePng(Path file, SampleGenerator.Sample sample) throws IOException {
        if (!file.getFileName().toString().endsWith(".png")) {
            throw new IllegalArgumentException(file + ": sweep images are written as PNG only");
        }
        AtomicFiles.write(file, os -> {
            if (!ImageIO.write(sample.image(), "png", os)) {
                throw new IOException(file + ": no PNG writer for image type " + sample.image().getType());
            }
        });
    }
}
