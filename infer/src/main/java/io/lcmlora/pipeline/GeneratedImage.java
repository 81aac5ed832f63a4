package io.lcmlora.pipeline;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * One generated image.
 *
 * @param image 8-bit RGB
 * @param seed the seed that reproduces it alone (request seed + index)
 * @param index its position among the request's images
 * @param parameters the generation settings as JSON (written to the PNG's {@code parameters} text chunk)
 */
public record GeneratedImage(BufferedImage image, long seed, int index, String parameters) {
    /** The PNG key of the settings chunk (the key A1111-style tools read). */
    public static final String PARAMETERS_KEY = "parameters";

    /** Writes a PNG with the settings chunk, atomically. */
    public void writePng(Path file) throws IOException {
        PngImages.write(file, image, Map.of(PARAMETERS_KEY, parameters));
    }
}
