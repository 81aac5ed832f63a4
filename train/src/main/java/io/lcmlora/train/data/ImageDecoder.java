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

    /** Width and height from the image header. */
    public record Size(int width, int height) {
        public long pixels() {
            return (long) width * height;
        }

        /**
         * An upper bound on the bytes {@link #decode} allocates for an image of this size: the reader's raster (at most
         * 8 bytes a pixel, 16-bit RGBA) and the packed RGB copy (4 bytes a pixel).
         */
        public long decodeBytes() {
            return 12 * pixels();
        }
    }

    static {
        ImageIO.setUseCache(false); // decode from memory only: no temp files next to untrusted data
    }

    /**
     * The size recorded in the header (PNG IHDR, JPEG SOF, ...), read without decoding any pixel; refused as
     * {@code image too large} over {@link #MAX_PIXELS}.
     */
    public static Size size(byte[] bytes, String id) throws SkipException {
        return withReader(bytes, id, reader -> header(reader, id));
    }

    /** Decodes to 8-bit RGB; the header size is checked against {@link #MAX_PIXELS} before the pixels are allocated. */
    public static BufferedImage decode(byte[] bytes, String id) throws SkipException {
        return withReader(bytes, id, reader -> {
            Size s = header(reader, id);
            BufferedImage img = reader.read(0);
            if (img.getWidth() != s.width() || img.getHeight() != s.height()) {
                throw new SkipException("unreadable image", id + " (decoded " + img.getWidth() + "x" + img.getHeight()
                        + ", header says " + s.width() + "x" + s.height() + ")");
            }
            return toRgbOnWhite(img);
        });
    }

    private interface ReaderTask<T> {
        T run(ImageReader reader) throws IOException;
    }

    private static <T> T withReader(byte[] bytes, String id, ReaderTask<T> task) throws SkipException {
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes))) {
            Iterator<ImageReader> readers = in == null ? null : ImageIO.getImageReaders(in);
            if (readers == null || !readers.hasNext()) {
                throw new SkipException("unreadable image", id + " (unknown image format)");
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                return task.run(reader);
            } finally {
                reader.dispose();
            }
        } catch (SkipException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new SkipException("unreadable image", id + " (" + e.getMessage() + ")");
        }
    }

    private static Size header(ImageReader reader, String id) throws IOException {
        Size s = new Size(reader.getWidth(0), reader.getHeight(0));
        if (s.width() <= 0 || s.height() <= 0) {
            throw new SkipException("unreadable image", id + " (header size " + s.width() + "x" + s.height() + ")");
        }
        if (s.pixels() > MAX_PIXELS) {
            throw new SkipException("image too large", id + " (" + s.width() + "x" + s.height() + " is over "
                    + MAX_PIXELS + " pixels)");
        }
        return s;
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
