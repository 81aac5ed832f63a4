package io.lcmlora.train.data;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * Decodes PNG/JPEG/BMP/GIF with ImageIO into 8-bit RGB, compositing any alpha over white. Failures (unknown format,
 * corrupt data, an image over {@link #MAX_PIXELS}) are {@link SkipException}s, never crashes.
 */
public final class ImageDecoder {
    /** 64 megapixels (e.g. 8192 x 8192): larger images are refused before their pixels are allocated. */
    public static final long MAX_PIXELS = 64L << 20;

    private ImageDecoder() {}

    public static BufferedImage decode(byte[] bytes, String id) throws SkipException {
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes))) {
            Iterator<ImageReader> readers = in == null ? null : ImageIO.getImageReaders(in);
            if (readers == null || !readers.hasNext()) {
                throw new SkipException("unreadable image", id + " (unknown image format)");
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                long pixels = (long) reader.getWidth(0) * reader.getHeight(0);
                if (pixels > MAX_PIXELS || pixels <= 0) {
                    throw new SkipException("image too large", id + " (" + reader.getWidth(0) + "x" + reader.getHeight(0) + ")");
                }
                return toRgbOnWhite(reader.read(0));
            } finally {
                reader.dispose();
            }
        } catch (SkipException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new SkipException("unreadable image", id + " (" + e.getMessage() + ")");
        }
    }

    /** 8-bit RGB; transparent pixels become white (alpha composited over white). */
    public static BufferedImage toRgbOnWhite(BufferedImage src) {
        if (src.getType() == BufferedImage.TYPE_INT_RGB) {
            return src;
        }
        BufferedImage rgb = new BufferedImage(src.getWidth(), src.getHeight(), BufferedImage.TYPE_INT_RGB);
        Graphics2D g = rgb.createGraphics();
        try {
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, src.getWidth(), src.getHeight());
            g.drawImage(src, 0, 0, null);
        } finally {
            g.dispose();
        }
        return rgb;
    }
}
