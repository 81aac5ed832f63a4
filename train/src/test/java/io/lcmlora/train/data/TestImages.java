package io.lcmlora.train.data;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import javax.imageio.ImageIO;

/** Small images and tar archives built in memory for the data tests. */
final class TestImages {
    private TestImages() {}

    static BufferedImage solid(int w, int h, int rgb) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, rgb);
            }
        }
        return img;
    }

    static byte[] encode(BufferedImage img, String format) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        if (!ImageIO.write(img, format, out)) {
            throw new IOException("no writer for " + format);
        }
        return out.toByteArray();
    }

    static byte[] png(int w, int h, int rgb) throws IOException {
        return encode(solid(w, h, rgb), "png");
    }

    /** A PNG signature followed by garbage: ImageIO recognises the format and fails to decode. */
    static byte[] corruptPng() throws IOException {
        byte[] good = png(8, 8, 0x336699);
        byte[] bad = good.clone();
        for (int i = 33; i < bad.length; i++) {
            bad[i] = (byte) (i * 31);
        }
        return bad;
    }

    /** A minimal ustar writer (independent of the reader under test). */
    static final class Tar {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Tar file(String name, byte[] data) {
            return entry(name, '0', data, "");
        }

        Tar text(String name, String text) {
            return file(name, text.getBytes(StandardCharsets.UTF_8));
        }

        Tar entry(String name, char type, byte[] data, String linkName) {
            return entry(name, type, data, linkName, h -> { });
        }

        /** A GNU long-name entry giving the next member's path. */
        Tar gnuLongName(String path) {
            return entry("././@LongLink", 'L', (path + "\0").getBytes(StandardCharsets.UTF_8), "");
        }

        /** Raw bytes appended as they are (e.g. a hand-made header). */
        Tar raw(byte[] bytes) {
            out.writeBytes(bytes);
            return this;
        }

        /** An entry whose header {@code edit} changes before the checksum is computed (e.g. a hostile size field). */
        Tar entry(String name, char type, byte[] data, String linkName, java.util.function.Consumer<byte[]> edit) {
            byte[] h = new byte[512];
            String prefix = "";
            String n = name;
            if (n.getBytes(StandardCharsets.UTF_8).length > 100) {
                int cut = n.lastIndexOf('/', 154);
                prefix = n.substring(0, cut);
                n = n.substring(cut + 1);
            }
            put(h, 0, n, 100);
            put(h, 100, "0000644", 8);
            put(h, 108, "0000000", 8);
            put(h, 116, "0000000", 8);
            put(h, 124, String.format("%011o", data.length), 12);
            put(h, 136, String.format("%011o", 1700000000L), 12);
            h[156] = (byte) type;
            put(h, 157, linkName, 100);
            put(h, 257, "ustar", 6);
            put(h, 263, "00", 2);
            put(h, 345, prefix, 155);
            edit.accept(h);
            for (int i = 148; i < 156; i++) {
                h[i] = ' ';
            }
            int sum = 0;
            for (byte b : h) {
                sum += b & 0xFF;
            }
            put(h, 148, String.format("%06o", sum), 7);
            out.writeBytes(h);
            out.writeBytes(data);
            out.writeBytes(new byte[(512 - data.length % 512) % 512]);
            return this;
        }

        /** A PAX extended header giving the next member's path. */
        Tar paxPath(String path) {
            return pax("path", path);
        }

        /** A PAX extended header with one well-formed {@code key=value} record. */
        Tar pax(String key, String value) {
            String rec = " " + key + "=" + value + "\n";
            int len = rec.length();
            len += Integer.toString(len + Integer.toString(len).length()).length();
            return paxRaw((len + rec).getBytes(StandardCharsets.UTF_8));
        }

        /** A PAX extended header with exactly these record bytes (well formed or not). */
        Tar paxRaw(byte[] records) {
            return entry("PaxHeaders/x", 'x', records, "");
        }

        byte[] bytes() {
            ByteArrayOutputStream o = new ByteArrayOutputStream();
            o.writeBytes(out.toByteArray());
            o.writeBytes(new byte[1024]);
            return o.toByteArray();
        }

        private static void put(byte[] h, int off, String s, int max) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            System.arraycopy(b, 0, h, off, Math.min(b.length, max));
        }
    }
}
