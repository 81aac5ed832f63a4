package io.lcmlora.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * A folder of PNG/JPEG images read as uint8 RGB, NCHW (alpha dropped, grey expanded, like PIL's
 * {@code convert("RGB")}). JPEG decoding is ImageIO's, which can differ from libjpeg by one level on some
 * pixels: keep sample sets as PNG.
 */
public final class ImageFolder {
    private ImageFolder() {}

    /** The image files directly in {@code dir} (.png, .jpg, .jpeg, any case), sorted by name. */
    public static List<Path> list(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IOException(dir + ": not a directory");
        }
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(Files::isRegularFile).filter(p -> {
                String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
                return n.endsWith(".png") || n.endsWith(".jpg") || n.endsWith(".jpeg");
            }).sorted().toList();
        }
        if (files.isEmpty()) {
            throw new IOException(dir + ": no .png/.jpg/.jpeg images");
        }
        return files;
    }

    /** Largest image decoded (64 Mi pixels, e.g. 8192 x 8192): the header is checked before pixels are allocated. */
    public static final long MAX_PIXELS = 64L << 20;

    /** Decodes one image file; its header size is checked against {@link #MAX_PIXELS} first. */
    public static BufferedImage read(Path file) throws IOException {
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            Iterator<ImageReader> readers = in == null ? null : ImageIO.getImageReaders(in);
            if (readers == null || !readers.hasNext()) {
                throw new IOException(file + ": not a readable PNG/JPEG image");
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                long w = reader.getWidth(0);
                long h = reader.getHeight(0);
                if (w * h > MAX_PIXELS) {
                    throw new IOException(file + ": " + w + "x" + h + " is over " + MAX_PIXELS
                            + " pixels; FID images are small (resize the set first)");
                }
                return reader.read(0);
            } finally {
                reader.dispose();
            }
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw new IOException(file + ": not a readable PNG/JPEG image (" + e.getMessage() + ")");
        }
    }

    /** Images of one size as uint8 [N, 3, H, W]; a different size is an error naming the file. */
    public static NDArray load(List<BufferedImage> images, List<Path> names, NDManager manager) {
        int h = images.get(0).getHeight();
        int w = images.get(0).getWidth();
        byte[] out = new byte[images.size() * 3 * h * w];
        int[] argb = new int[h * w];
        for (int n = 0; n < images.size(); n++) {
            BufferedImage img = images.get(n);
            if (img.getHeight() != h || img.getWidth() != w) {
                throw new IllegalArgumentException(names.get(n) + ": " + img.getWidth() + "x" + img.getHeight()
                        + ", the batch is " + w + "x" + h);
            }
            img.getRGB(0, 0, w, h, argb, 0, w);
            int base = n * 3 * h * w;
            for (int i = 0; i < h * w; i++) {
                int p = argb[i];
                out[base + i] = (byte) (p >>> 16);
                out[base + h * w + i] = (byte) (p >>> 8);
                out[base + 2 * h * w + i] = (byte) p;
            }
        }
        return manager.create(ByteBuffer.wrap(out), new Shape(images.size(), 3, h, w), DataType.UINT8);
    }
}
