package io.lcmlora.train.demo;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * A minimal streaming reader of POSIX tar archives (ustar, with pax {@code path} records and GNU long names),
 * enough for npm package tarballs. It never writes to disk: callers read an entry's bytes into memory (with
 * a size cap) or skip it. Safety: sizes are parsed strictly (octal or GNU base-256), a negative or oversized
 * entry is an error naming it, a truncated archive is an error, and {@link #isSafeName} rejects absolute
 * paths and {@code ..} components for callers that map names to files.
 */
public final class TarReader implements AutoCloseable {
    private static final int BLOCK = 512;
    /** Largest pax or GNU long-name record accepted. */
    private static final int MAX_META = 1 << 20;

    /** One archive member: its path, size in bytes and type flag ('0' or NUL = regular file, '5' = folder). */
    public record Entry(String name, long size, char type) {
        public boolean isFile() {
            return type == '0' || type == '\0' || type == '7';
        }
    }

    private final InputStream in;
    private final String source;
    private long remaining;
    private long padding;
    private boolean done;

    /** Reads {@code in} (already decompressed); {@code source} names the archive in error messages. */
    public TarReader(InputStream in, String source) {
        this.in = in;
        this.source = source;
    }

    /** The next member (skipping the rest of the current one), or null at the end of the archive. */
    public Entry next() throws IOException {
        skipRest();
        String longName = null;
        while (!done) {
            byte[] h = readFully(BLOCK);
            if (isZero(h)) {
                done = true;
                return null;
            }
            checkChecksum(h);
            char type = (char) (h[156] & 0xff);
            long size = parseNumber(h, 124, 12, "size");
            String name = longName != null ? longName : headerName(h);
            switch (type) {
                case 'x', 'L' -> {
                    if (size > MAX_META) {
                        throw new IOException(source + ": " + (type == 'x' ? "pax" : "GNU long name")
                                + " record of " + size + " bytes for " + name + " exceeds " + MAX_META);
                    }
                    byte[] meta = readFully((int) size);
                    skipFully(pad(size));
                    longName = type == 'L' ? cString(meta, 0, meta.length) : paxPath(meta, longName);
                }
                case 'g' -> skipFully(size + pad(size));
                default -> {
                    remaining = size;
                    padding = pad(size);
                    return new Entry(name, size, type);
                }
            }
        }
        return null;
    }

    /** The current member's bytes; an entry larger than {@code maxBytes} is an error naming it. */
    public byte[] read(Entry e, int maxBytes) throws IOException {
        if (e.size() > maxBytes) {
            throw new IOException(source + ": " + e.name() + " is " + e.size() + " bytes, more than the "
                    + maxBytes + " accepted");
        }
        byte[] b = readFully((int) e.size());
        remaining = 0;
        return b;
    }

    /** True for a relative path without empty, {@code .} or {@code ..} components and without backslashes. */
    public static boolean isSafeName(String name) {
        if (name.isEmpty() || name.startsWith("/") || name.contains("\\") || name.indexOf('\0') >= 0) {
            return false;
        }
        for (String part : name.split("/", -1)) {
            if (part.equals("..") || part.equals(".")) {
                return false;
            }
        }
        return true;
    }

    @Override
    public void close() throws IOException {
        in.close();
    }

    private void skipRest() throws IOException {
        skipFully(remaining + padding);
        remaining = 0;
        padding = 0;
    }

    private static long pad(long size) {
        return (BLOCK - size % BLOCK) % BLOCK;
    }

    private String headerName(byte[] h) {
        String name = cString(h, 0, 100);
        boolean ustar = new String(h, 257, 5, StandardCharsets.US_ASCII).equals("ustar");
        String prefix = ustar ? cString(h, 345, 155) : "";
        return prefix.isEmpty() ? name : prefix + "/" + name;
    }

    /** The {@code path} of a pax extended header ("LEN key=value\n" records), else {@code fallback}. */
    private String paxPath(byte[] meta, String fallback) throws IOException {
        String path = fallback;
        int i = 0;
        while (i < meta.length) {
            int sp = i;
            while (sp < meta.length && meta[sp] != ' ') {
                sp++;
            }
            int len;
            try {
                len = Integer.parseInt(new String(meta, i, sp - i, StandardCharsets.US_ASCII));
            } catch (NumberFormatException ex) {
                throw new IOException(source + ": malformed pax record length at byte " + i);
            }
            if (len <= sp - i + 1 || i + len > meta.length || meta[i + len - 1] != '\n') {
                throw new IOException(source + ": malformed pax record at byte " + i);
            }
            String rec = new String(meta, sp + 1, i + len - sp - 2, StandardCharsets.UTF_8);
            if (rec.startsWith("path=")) {
                path = rec.substring(5);
            }
            i += len;
        }
        return path;
    }

    private long parseNumber(byte[] h, int off, int len, String field) throws IOException {
        if ((h[off] & 0x80) != 0) {
            // GNU base-256: big-endian two's complement in the remaining bytes; the high bit marks it.
            if ((h[off] & 0x40) != 0) {
                throw new IOException(source + ": negative " + field + " in a tar header");
            }
            long v = h[off] & 0x3f;
            for (int i = 1; i < len; i++) {
                if (v > (Long.MAX_VALUE >>> 8)) {
                    throw new IOException(source + ": " + field + " overflows in a tar header");
                }
                v = (v << 8) | (h[off + i] & 0xff);
            }
            return v;
        }
        long v = 0;
        int i = off;
        int end = off + len;
        while (i < end && h[i] == ' ') {
            i++;
        }
        int digits = 0;
        for (; i < end && h[i] != 0 && h[i] != ' '; i++) {
            int d = h[i] - '0';
            if (d < 0 || d > 7) {
                throw new IOException(source + ": bad octal digit in the " + field + " field of a tar header");
            }
            v = v * 8 + d;
            digits++;
        }
        if (digits == 0) {
            throw new IOException(source + ": empty " + field + " field in a tar header");
        }
        return v;
    }

    private void checkChecksum(byte[] h) throws IOException {
        long stored = parseNumber(h, 148, 8, "checksum");
        long sum = 0;
        for (int i = 0; i < BLOCK; i++) {
            sum += (i >= 148 && i < 156) ? ' ' : (h[i] & 0xff);
        }
        if (sum != stored) {
            throw new IOException(source + ": tar header checksum mismatch (" + sum + " != " + stored
                    + "): not a tar archive, or corrupt");
        }
    }

    private static boolean isZero(byte[] b) {
        for (byte x : b) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }

    private static String cString(byte[] b, int off, int len) {
        int end = off;
        while (end < off + len && b[end] != 0) {
            end++;
        }
        return new String(b, off, end - off, StandardCharsets.UTF_8);
    }

    private byte[] readFully(int n) throws IOException {
        byte[] b = in.readNBytes(n);
        if (b.length != n) {
            throw new EOFException(source + ": truncated tar archive");
        }
        return b;
    }

    private void skipFully(long n) throws IOException {
        try {
            in.skipNBytes(n);
        } catch (EOFException ex) {
            throw new EOFException(source + ": truncated tar archive");
        }
    }
}
