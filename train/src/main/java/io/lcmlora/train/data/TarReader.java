package io.lcmlora.train.data;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;

/**
 * The project's one tar reader: POSIX ustar (with the name prefix), PAX {@code path}/{@code size} records and GNU
 * long names, read as a stream of headers. It never writes to disk and never uses a member name as a path. It serves
 * both a seekable shard ({@link #of(FileChannel, String)}: data is skipped by seeking and each {@link Entry} carries
 * its byte offset, so members can be read later with {@link #readAt}) and a decompressed stream (a {@code .tgz}).
 *
 * <p>Safety rules, all checked before anything is allocated: a header must have a valid checksum (unsigned, or
 * signed as old tars wrote it); sizes are octal or GNU base-256, never negative and never beyond what the archive
 * can hold ({@code size <= length - offset}, written so it cannot overflow); PAX and long-name records are capped at
 * {@link #MAX_META} bytes and every PAX record must be well formed ({@code "LEN key=value\n"} with LEN covering
 * exactly the record). A violation is a {@link TarException} whose {@link TarException#reason()} is the skip reason
 * ({@code corrupt tar header}, {@code truncated tar}, {@code oversized tar member}); the entries returned before it
 * stay valid.
 */
public final class TarReader implements AutoCloseable {
    static final int BLOCK = 512;
    /** Largest PAX or GNU long-name record accepted. */
    public static final int MAX_META = 1 << 20;
    /** Largest member size accepted from a stream of unknown length (so that {@code size + padding} cannot overflow). */
    static final long MAX_STREAM_MEMBER = 1L << 48;

    /** One archive member: its path, the offset of its data, its size and type flag ('0'/NUL/'7' = file, '5' = folder). */
    public record Entry(String name, long offset, long size, char type) {
        public boolean isFile() {
            return type == '0' || type == '\0' || type == '7';
        }
    }

    /** A malformed or truncated archive, or a member too large to read; {@link #reason()} is the skip reason. */
    public static final class TarException extends IOException {
        private final String reason;

        TarException(String reason, String message) {
            super(message);
            this.reason = reason;
        }

        public String reason() {
            return reason;
        }
    }

    private final InputStream in;
    private final String source;
    private final long length;
    private long pos;
    /** Bytes from the stream position to the next header (the current member's unread data and padding). */
    private long toNextHeader;
    /** The member last returned by {@link #next}, while its data has not been skipped. */
    private Entry current;
    private boolean done;

    /**
     * Reads {@code in} (already decompressed) of {@code length} bytes, or -1 when unknown; {@code source} names the
     * archive in errors.
     */
    public TarReader(InputStream in, String source, long length) {
        this.in = in;
        this.source = source;
        this.length = length;
    }

    /** A reader over a seekable shard: skipping a member's data is a seek, and sizes are checked against the file size. */
    public static TarReader of(FileChannel ch, String source) throws IOException {
        return new TarReader(new ChannelStream(ch), source, ch.size());
    }

    /** The next member (skipping the rest of the current one), or null at the end of the archive. */
    public Entry next() throws IOException {
        skip(toNextHeader);
        toNextHeader = 0;
        current = null;
        String longName = null;
        String paxPath = null;
        long paxSize = -1;
        while (!done) {
            long headerAt = pos;
            byte[] h = in.readNBytes(BLOCK);
            pos += h.length;
            if (h.length == 0) {
                done = true; // cut at a block boundary without end blocks: the members so far are complete
                return null;
            }
            if (h.length < BLOCK) {
                throw new TarException("truncated tar", source + ": truncated tar archive (header at byte " + headerAt + ")");
            }
            if (isZero(h)) {
                done = true;
                return null;
            }
            if (!checksumOk(h)) {
                throw new TarException("corrupt tar header", source + ": tar header checksum mismatch at byte " + headerAt
                        + ": not a tar archive, or corrupt");
            }
            char type = (char) (h[156] & 0xFF);
            long size = parseSize(h);
            if (size < 0) {
                throw corrupt(headerAt, "size field is not an octal or base-256 number");
            }
            if (paxSize >= 0 && type != 'x' && type != 'L' && type != 'g') {
                size = paxSize;
            }
            long data = pos;
            checkFits(size, data, headerAt);
            switch (type) {
                case 'x', 'L' -> {
                    if (size > MAX_META) {
                        throw new TarException("corrupt tar header", source + ": " + (type == 'x' ? "PAX" : "GNU long name")
                                + " record of " + size + " bytes at byte " + headerAt + " exceeds " + MAX_META);
                    }
                    byte[] meta = readFully((int) size, headerAt);
                    skip(pad(size));
                    if (type == 'L') {
                        longName = cString(meta, 0, meta.length);
                    } else {
                        String[] pax = parsePax(meta, headerAt);
                        paxPath = pax[0] != null ? pax[0] : paxPath;
                        paxSize = pax[1] != null ? paxSize(pax[1], headerAt) : paxSize;
                    }
                }
                case 'g' -> skip(size + pad(size)); // global PAX header: nothing we use
                default -> {
                    String name = paxPath != null ? paxPath : longName != null ? longName : headerName(h);
                    current = new Entry(name, data, size, type);
                    toNextHeader = size + pad(size);
                    return current;
                }
            }
        }
        return null;
    }

    /** The current member's bytes; a member larger than {@code maxBytes} is an error naming it. */
    public byte[] read(Entry e, int maxBytes) throws IOException {
        if (e != current || toNextHeader != e.size() + pad(e.size())) {
            throw new IllegalStateException("read(" + e.name() + ") after the reader moved on");
        }
        if (e.size() > maxBytes) {
            throw new TarException("oversized tar member", source + ": " + e.name() + " is " + e.size()
                    + " bytes, more than the " + maxBytes + " accepted");
        }
        byte[] b = readFully((int) e.size(), e.offset() - BLOCK);
        toNextHeader = pad(e.size());
        return b;
    }

    /**
     * The data of {@code e} read from a seekable shard, refused when larger than {@code maxBytes} (checked before
     * allocating).
     */
    public static byte[] readAt(FileChannel ch, Entry e, long maxBytes, String source) throws IOException {
        if (e.size() > maxBytes || e.size() > Integer.MAX_VALUE - 16) {
            throw new TarException("oversized tar member", source + ":" + e.name() + " (" + e.size() + " bytes, at most "
                    + maxBytes + " accepted)");
        }
        ByteBuffer b = ByteBuffer.allocate((int) e.size());
        while (b.hasRemaining()) {
            if (ch.read(b, e.offset() + b.position()) < 0) {
                throw new TarException("truncated tar", source + ":" + e.name() + " (ends at byte " + (e.offset() + b.position())
                        + ")");
            }
        }
        return b.array();
    }

    /**
     * The name without leading {@code ./}, or null when it is empty, absolute (also {@code C:}), has a {@code ..}
     * segment, a backslash or a NUL.
     */
    public static String safeName(String name) {
        String n = name;
        while (n.startsWith("./")) {
            n = n.substring(2);
        }
        if (n.isEmpty() || n.startsWith("/") || n.indexOf('\\') >= 0 || n.indexOf('\0') >= 0
                || (n.length() > 1 && n.charAt(1) == ':')) {
            return null;
        }
        for (String seg : n.split("/", -1)) {
            if (seg.equals("..")) {
                return null;
            }
        }
        return n;
    }

    @Override
    public void close() throws IOException {
        in.close();
    }

    private void checkFits(long size, long data, long headerAt) throws TarException {
        if (length >= 0) {
            if (size > length - data) { // length - data >= 0 here: no overflow
                throw new TarException("truncated tar", source + ": member at byte " + headerAt + " declares " + size
                        + " bytes, but only " + (length - data) + " follow");
            }
        } else if (size > MAX_STREAM_MEMBER) {
            throw corrupt(headerAt, "member size " + size + " is implausible");
        }
    }

    private TarException corrupt(long headerAt, String what) {
        return new TarException("corrupt tar header", source + ": tar header at byte " + headerAt + ": " + what);
    }

    private static long pad(long size) {
        return (BLOCK - size % BLOCK) % BLOCK;
    }

    private byte[] readFully(int n, long headerAt) throws IOException {
        byte[] b = in.readNBytes(n);
        pos += b.length;
        if (b.length != n) {
            throw new TarException("truncated tar", source + ": truncated tar archive (member at byte " + headerAt + ")");
        }
        return b;
    }

    private void skip(long n) throws IOException {
        long left = n;
        while (left > 0) {
            long s = in.skip(left);
            if (s <= 0) {
                if (in.read() < 0) {
                    throw new TarException("truncated tar", source + ": truncated tar archive (at byte " + pos + ")");
                }
                s = 1;
            }
            left -= s;
            pos += s;
        }
    }

    private static boolean isZero(byte[] h) {
        for (byte b : h) {
            if (b != 0) {
                return false;
            }
        }
        return true;
    }

    /** The header checksum: the byte sum with the checksum field as spaces (unsigned, or signed as old tars did). */
    static boolean checksumOk(byte[] h) {
        long stored = parseOctal(h, 148, 8);
        long unsigned = 0;
        long signed = 0;
        for (int i = 0; i < BLOCK; i++) {
            boolean field = i >= 148 && i < 156;
            unsigned += field ? ' ' : h[i] & 0xFF;
            signed += field ? ' ' : h[i];
        }
        return stored >= 0 && (stored == unsigned || stored == signed);
    }

    /** The size field: octal digits, or GNU base-256 (top bit of the first byte set); -1 when neither or negative. */
    static long parseSize(byte[] h) {
        if ((h[124] & 0x80) != 0) {
            if ((h[124] & 0x40) != 0) {
                return -1; // negative base-256
            }
            long v = h[124] & 0x3F;
            for (int i = 125; i < 136; i++) {
                if ((v >>> 55) != 0) {
                    return -1; // would overflow a signed long
                }
                v = (v << 8) | (h[i] & 0xFF);
            }
            return v;
        }
        return parseOctal(h, 124, 12);
    }

    /** Octal digits, optionally space-padded and NUL/space-terminated; -1 when absent, malformed or overflowing. */
    private static long parseOctal(byte[] h, int off, int len) {
        long v = 0;
        boolean any = false;
        for (int i = off; i < off + len; i++) {
            int c = h[i];
            if (c == 0 || c == ' ') {
                if (any) {
                    break;
                }
                continue;
            }
            if (c < '0' || c > '7' || v > (Long.MAX_VALUE >>> 3)) {
                return -1;
            }
            v = v * 8 + (c - '0');
            any = true;
        }
        return any ? v : -1;
    }

    private static String headerName(byte[] h) {
        String name = cString(h, 0, 100);
        boolean ustar = h[257] == 'u' && h[258] == 's' && h[259] == 't' && h[260] == 'a' && h[261] == 'r';
        String prefix = ustar ? cString(h, 345, 155) : "";
        return prefix.isEmpty() ? name : prefix + "/" + name;
    }

    private static String cString(byte[] b, int off, int len) {
        int end = off;
        while (end < off + len && b[end] != 0) {
            end++;
        }
        return new String(b, off, end - off, StandardCharsets.UTF_8);
    }

    /** PAX records "LEN key=value\n" (LEN counts the whole record): {path, size}, null when absent. */
    String[] parsePax(byte[] data, long headerAt) throws TarException {
        String path = null;
        String size = null;
        int p = 0;
        while (p < data.length) {
            int sp = p;
            while (sp < data.length && sp - p < 10 && data[sp] >= '0' && data[sp] <= '9') {
                sp++;
            }
            if (sp == p || sp >= data.length || data[sp] != ' ') {
                throw corrupt(headerAt, "malformed PAX record length at byte " + p + " of the record");
            }
            long len = Long.parseLong(new String(data, p, sp - p, StandardCharsets.US_ASCII));
            // The record holds "LEN", " ", at least "k=" and "\n".
            if (len < sp - p + 4 || len > data.length - p || data[(int) (p + len - 1)] != '\n') {
                throw corrupt(headerAt, "malformed PAX record at byte " + p + " of the record (length " + len + ")");
            }
            int end = (int) (p + len - 1); // the '\n'
            String rec = new String(data, sp + 1, end - sp - 1, StandardCharsets.UTF_8);
            int eq = rec.indexOf('=');
            if (eq <= 0) {
                throw corrupt(headerAt, "PAX record without key=value at byte " + p + " of the record");
            }
            String k = rec.substring(0, eq);
            if (k.equals("path")) {
                path = rec.substring(eq + 1);
            } else if (k.equals("size")) {
                size = rec.substring(eq + 1);
            }
            p = (int) (p + len);
        }
        return new String[] {path, size};
    }

    private long paxSize(String s, long headerAt) throws TarException {
        try {
            if (!s.isEmpty() && s.chars().allMatch(c -> c >= '0' && c <= '9')) {
                return Long.parseLong(s);
            }
        } catch (NumberFormatException e) {
            // more than a long holds: fall through
        }
        throw corrupt(headerAt, "PAX size '" + (s.length() > 40 ? s.substring(0, 40) + "..." : s)
                + "' is not a decimal number of bytes");
    }

    /** Positional reads over a file channel; {@code skip} seeks (never past the end). */
    private static final class ChannelStream extends InputStream {
        private final FileChannel ch;
        private long position;

        ChannelStream(FileChannel ch) {
            this.ch = ch;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            int n = ch.read(ByteBuffer.wrap(b, off, len), position);
            if (n > 0) {
                position += n;
            }
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            long s = Math.max(0, Math.min(n, ch.size() - position));
            position += s;
            return s;
        }

        @Override
        public void close() {
            // the channel belongs to the caller
        }
    }
}
