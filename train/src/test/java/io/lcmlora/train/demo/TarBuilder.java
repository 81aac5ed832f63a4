package io.lcmlora.train.demo;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.zip.GZIPOutputStream;

/** Writes small ustar archives for tests (an independent encoder of the format {@link io.lcmlora.train.data.TarReader} reads). */
final class TarBuilder {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    TarBuilder file(String name, byte[] body) {
        return entry(name, '0', body);
    }

    /** A pax extended header whose {@code path} record replaces the next entry's name. */
    TarBuilder paxPath(String path) {
        String rec = " path=" + path + "\n";
        int len = rec.length() + 1;
        while (String.valueOf(len).length() + rec.length() != len) {
            len++;
        }
        return entry("PaxHeader", 'x', (len + rec).getBytes(StandardCharsets.UTF_8));
    }

    /** A GNU long-name entry for the next member. */
    TarBuilder gnuLongName(String path) {
        return entry("././@LongLink", 'L', (path + "\0").getBytes(StandardCharsets.UTF_8));
    }

    TarBuilder entry(String name, char type, byte[] body) {
        byte[] h = new byte[512];
        put(h, 0, name.getBytes(StandardCharsets.UTF_8));
        put(h, 100, octal(0644, 8));
        put(h, 108, octal(0, 8));
        put(h, 116, octal(0, 8));
        put(h, 124, octal(body.length, 12));
        put(h, 136, octal(0, 12));
        h[156] = (byte) type;
        put(h, 257, "ustar\0".getBytes(StandardCharsets.US_ASCII));
        put(h, 263, "00".getBytes(StandardCharsets.US_ASCII));
        for (int i = 148; i < 156; i++) {
            h[i] = ' ';
        }
        long sum = 0;
        for (byte b : h) {
            sum += b & 0xff;
        }
        put(h, 148, octal(sum, 7));
        out.writeBytes(h);
        out.writeBytes(body);
        out.writeBytes(new byte[(512 - body.length % 512) % 512]);
        return this;
    }

    byte[] tar() {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(out.toByteArray());
        b.writeBytes(new byte[1024]);
        return b.toByteArray();
    }

    byte[] tgz() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(b)) {
            gz.write(tar());
        }
        return b.toByteArray();
    }

    private static byte[] octal(long v, int width) {
        String s = String.format("%0" + (width - 1) + "o", v) + "\0";
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    private static void put(byte[] h, int off, byte[] v) {
        System.arraycopy(v, 0, h, off, v.length);
    }
}
