package io.lcmlora.pipeline;

import io.lcmlora.io.AtomicFiles;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.ImageWriter;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.ImageOutputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;
import org.w3c.dom.Node;

/** PNG files with text chunks, and the conversions between 8-bit RGB images and the VAE's [-1, 1] floats. */
public final class PngImages {
    private static final String PNG_FORMAT = "javax_imageio_png_1.0";

    private PngImages() {}

    /**
     * Writes {@code image} as an 8-bit RGB PNG with one {@code tEXt} chunk per entry, atomically. tEXt is Latin-1:
     * characters beyond it must be escaped by the caller (the pipeline's JSON uses {@code \\uXXXX}). The PNG is
     * encoded in memory (never through ImageIO's disk cache, whose cleanup hook fails noisily on a full disk), then
     * written through {@link AtomicFiles}, whose errors name the file.
     */
    public static void write(Path file, BufferedImage image, Map<String, String> text) throws IOException {
        AtomicFiles.writeBytes(file, encode(image, text, file));
    }

    /** The PNG bytes of {@code image} (8-bit RGB), encoded in memory. */
    public static byte[] encode(BufferedImage image) {
        try {
            return encode(image, Map.of(), null);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("PNG encoding in memory", e);
        }
    }

    private static byte[] encode(BufferedImage image, Map<String, String> text, Path file) throws IOException {
        BufferedImage rgb = toRgb(image);
        ImageWriter writer = ImageIO.getImageWritersByFormatName("png").next();
        try {
            IIOMetadata meta = writer.getDefaultImageMetadata(ImageTypeSpecifier.createFromRenderedImage(rgb), null);
            IIOMetadataNode chunks = new IIOMetadataNode("tEXt");
            for (Map.Entry<String, String> e : text.entrySet()) {
                checkLatin1(e.getKey() + e.getValue(), file == null ? Path.of("<png>") : file);
                IIOMetadataNode entry = new IIOMetadataNode("tEXtEntry");
                entry.setAttribute("keyword", e.getKey());
                entry.setAttribute("value", e.getValue());
                chunks.appendChild(entry);
            }
            IIOMetadataNode root = new IIOMetadataNode(PNG_FORMAT);
            root.appendChild(chunks);
            meta.mergeTree(PNG_FORMAT, root);
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (ImageOutputStream ios = new MemoryCacheImageOutputStream(bytes)) {
                writer.setOutput(ios);
                writer.write(null, new IIOImage(rgb, null, meta), null);
            }
            return bytes.toByteArray();
        } finally {
            writer.dispose();
        }
    }

    private static void checkLatin1(String s, Path file) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) > 0xFF) {
                throw new IllegalArgumentException(file + ": PNG tEXt chunks hold Latin-1 only; escape character U+"
                        + Integer.toHexString(s.charAt(i)) + " first");
            }
        }
    }

    /** The {@code tEXt} chunks of a PNG, keyword -> text, in file order. */
    public static Map<String, String> readText(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file); ImageInputStream iis = ImageIO.createImageInputStream(in)) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(iis);
            if (!readers.hasNext()) {
                throw new IOException(file + ": not an image ImageIO can read");
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(iis);
                Map<String, String> out = new LinkedHashMap<>();
                Node root = reader.getImageMetadata(0).getAsTree(PNG_FORMAT);
                for (Node n = root.getFirstChild(); n != null; n = n.getNextSibling()) {
                    if (!n.getNodeName().equals("tEXt")) {
                        continue;
                    }
                    for (Node e = n.getFirstChild(); e != null; e = e.getNextSibling()) {
                        IIOMetadataNode entry = (IIOMetadataNode) e;
                        out.put(entry.getAttribute("keyword"), entry.getAttribute("value"));
                    }
                }
                return out;
            } finally {
                reader.dispose();
            }
        }
    }

    /** Reads an image file (PNG, JPEG, BMP, GIF: what ImageIO reads) as 8-bit RGB. */
    public static BufferedImage read(Path file) throws IOException {
        BufferedImage img = ImageIO.read(file.toFile());
        if (img == null) {
            throw new IOException(file + ": not an image ImageIO can read (PNG, JPEG, BMP or GIF)");
        }
        return toRgb(img);
    }

    private static BufferedImage toRgb(BufferedImage image) {
        if (image.getType() == BufferedImage.TYPE_3BYTE_BGR) {
            return image;
        }
        BufferedImage rgb = new BufferedImage(image.getWidth(), image.getHeight(), BufferedImage.TYPE_3BYTE_BGR);
        Graphics2D g = rgb.createGraphics();
        g.drawImage(image, 0, 0, null);
        g.dispose();
        return rgb;
    }

    /**
     * The image as CHW floats in [-1, 1] ({@code 2 * v / 255 - 1}, diffusers' {@code VaeImageProcessor} normalisation)
     * at {@code width x height}, resized bicubically when its size differs (diffusers resizes with Lanczos).
     */
    public static float[] toUnitRange(BufferedImage image, int width, int height) {
        BufferedImage src = image;
        if (image.getWidth() != width || image.getHeight() != height) {
            src = new BufferedImage(width, height, BufferedImage.TYPE_3BYTE_BGR);
            Graphics2D g = src.createGraphics();
            g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BICUBIC);
            g.drawImage(image, 0, 0, width, height, null);
            g.dispose();
        }
        int plane = width * height;
        float[] out = new float[3 * plane];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int p = src.getRGB(x, y);
                int i = y * width + x;
                out[i] = ((p >> 16) & 0xFF) / 127.5f - 1f;
                out[plane + i] = ((p >> 8) & 0xFF) / 127.5f - 1f;
                out[2 * plane + i] = (p & 0xFF) / 127.5f - 1f;
            }
        }
        return out;
    }

    /**
     * CHW floats of a decoded image to 8-bit RGB as diffusers' {@code VaeImageProcessor.postprocess}:
     * {@code round(clamp(x / 2 + 0.5, 0, 1) * 255)} (round half to even, as numpy), in float32.
     */
    public static BufferedImage fromUnitRange(float[] chw, int offset, int width, int height) {
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_3BYTE_BGR);
        int plane = width * height;
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int i = offset + y * width + x;
                int r = toByte(chw[i]);
                int g = toByte(chw[i + plane]);
                int b = toByte(chw[i + 2 * plane]);
                img.setRGB(x, y, (r << 16) | (g << 8) | b);
            }
        }
        return img;
    }

    static int toByte(float v) {
        float u = Math.max(0f, Math.min(1f, v / 2f + 0.5f));
        return (int) Math.rint(u * 255f);
    }
}
