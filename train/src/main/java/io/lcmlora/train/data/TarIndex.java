package io.lcmlora.train.data;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Lists the regular-file members of a tar archive (POSIX ustar with prefix, PAX {@code path}/{@code size} records,
 * GNU long names) by reading headers and seeking over data: nothing is extracted and nothing is written. Member
 * names are never used as file paths; still, names that are absolute or contain a {@code ..} segment are refused
 * (skipped and counted), as are links and devices. A bad header checksum or a truncated archive ends the listing
 * of that shard (counted), keeping the members before it.
 */
final class TarIndex {
    /** One regular file inside the archive: its data lies at [offset, offset + size). */
    record Member(String name, long offset, long size) {}

    static final int BLOCK = 512;

    private TarIndex() {}

    static List<Member> list(FileChannel ch, Path shard, SkipCounter skips) throws IOException {
        List<Member> out = new ArrayList<>();
        long fileSize = ch.size();
        long pos = 0;
        String longName = null;
        String paxPath = null;
        long paxSize = -1;
        ByteBuffer hb = ByteBuffer.allocate(BLOCK);
        while (true) {
            if (pos + BLOCK > fileSize) {
                if (pos < fileSize) {
                    skips.skip("truncated tar", shard.getFileName() + "@" + pos);
                }
                // A stream cut exactly at a block boundary without end blocks: members so far are complete.
                break;
            }
            byte[] h = read(ch, hb, pos);
            if (isZero(h)) {
                break; // end-of-archive block
            }
            if (!checksumOk(h)) {
                skips.skip("corrupt tar header", shard.getFileName() + "@" + pos);
                break;
            }
            char type = (char) h[156];
            long size = paxSize >= 0 && (type == '0' || type == 0) ? paxSize : parseSize(h);
            if (size < 0) {
                skips.skip("corrupt tar header", shard.getFileName() + "@" + pos);
                break;
            }
            long data = pos + BLOCK;
            long next = data + (size + BLOCK - 1) / BLOCK * BLOCK;
            if (data + size > fileSize) {
                skips.skip("truncated tar", shard.getFileName() + "@" + pos);
                break;
            }
            switch (type) {
                case 'L' -> longName = cString(readData(ch, data, size, shard));
                case 'x' -> {
                    String[] pax = parsePax(readData(ch, data, size, shard));
                    paxPath = pax[0];
                    paxSize = pax[1] == null ? -1 : parseLong(pax[1]);
                }
                case 'g' -> { } // global PAX header: nothing we use
                default -> {
                    String name = paxPath != null ? paxPath : longName != null ? longName : headerName(h);
                    if (type == '0' || type == 0 || type == '7') {
                        String safe = safeName(name);
                        if (safe == null) {
                            skips.skip("unsafe tar member", shard.getFileName() + ":" + name);
                        } else {
                            out.add(new Member(safe, data, size));
                        }
                    } else if (type != '5') {
                        skips.skip("non-file tar member", shard.getFileName() + ":" + name);
                    }
                    longName = null;
                    paxPath = null;
                    paxSize = -1;
                }
            }
            pos = next;
        }
        return out;
    }

    /** The name without a leading "./", or null when it is absolute, has a ".." segment, or a backslash/NUL. */
    static String safeName(String name) {
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

    private static byte[] read(FileChannel ch, ByteBuffer b, long pos) throws IOException {
        b.clear();
        while (b.hasRemaining()) {
            if (ch.read(b, pos + b.position()) < 0) {
                throw new IOException("unexpected end of file at " + pos);
            }
        }
        return b.array().clone();
    }

    static byte[] readData(FileChannel ch, long offset, long size, Path shard) throws IOException {
        if (size > Integer.MAX_VALUE - 16) {
            throw new SkipException("oversized tar member", shard.getFileName() + "@" + offset);
        }
        ByteBuffer b = ByteBuffer.allocate((int) size);
        while (b.hasRemaining()) {
            if (ch.read(b, offset + b.position()) < 0) {
                throw new SkipException("truncated tar", shard.getFileName() + "@" + offset);
            }
        }
        return b.array();
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
            int b = i >= 148 && i < 156 ? ' ' : h[i];
            unsigned += b & 0xFF;
            signed += i >= 148 && i < 156 ? ' ' : h[i];
        }
        return stored == unsigned || stored == signed;
    }

    /** The size field: octal digits, or GNU base-256 when the top bit of the first byte is set. */
    static long parseSize(byte[] h) {
        if ((h[124] & 0x80) != 0) {
            long v = 0;
            for (int i = 125; i < 136; i++) {
                if ((v >>> 55) != 0) {
                    return -1;
                }
                v = (v << 8) | (h[i] & 0xFF);
            }
            return (h[124] & 0x40) != 0 ? -1 : v;
        }
        return parseOctal(h, 124, 12);
    }

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

    private static String cString(byte[] b) {
        return cString(b, 0, b.length);
    }

    private static String cString(byte[] b, int off, int len) {
        int end = off;
        while (end < off + len && b[end] != 0) {
            end++;
        }
        return new String(b, off, end - off, StandardCharsets.UTF_8);
    }

    /** PAX extended header records "LEN key=value\n": returns {path, size} (null when absent). */
    static String[] parsePax(byte[] data) {
        String path = null;
        String size = null;
        int p = 0;
        while (p < data.length) {
            int sp = p;
            while (sp < data.length && data[sp] != ' ') {
                sp++;
            }
            int len;
            try {
                len = Integer.parseInt(new String(data, p, sp - p, StandardCharsets.US_ASCII));
            } catch (NumberFormatException e) {
                break;
            }
            if (len <= 0 || p + len > data.length || sp >= p + len) {
                break;
            }
            String rec = new String(data, sp + 1, p + len - sp - 2, StandardCharsets.UTF_8); // drop the '\n'
            int eq = rec.indexOf('=');
            if (eq > 0) {
                String k = rec.substring(0, eq);
                if (k.equals("path")) {
                    path = rec.substring(eq + 1);
                } else if (k.equals("size")) {
                    size = rec.substring(eq + 1);
                }
            }
            p += len;
        }
        return new String[] {path, size};
    }

    private static long parseLong(String s) {
        try {
            return Long.parseLong(s.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    static FileChannel open(Path shard) throws IOException {
        return FileChannel.open(shard, StandardOpenOption.READ);
    }
}
