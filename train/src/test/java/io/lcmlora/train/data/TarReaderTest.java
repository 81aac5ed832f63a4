package io.lcmlora.train.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The one tar reader, streamed (as the demo reads a .tgz) and seekable (as webdataset shards are indexed), on
 * archives written by the independent {@link TestImages.Tar} writer, including the hostile headers of issue 12.
 */
class TarReaderTest {
    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static TarReader stream(byte[] tar, String name) {
        return new TarReader(new ByteArrayInputStream(tar), name, -1);
    }

    @Test
    void readsFilesPaxAndGnuLongNamesAndSkipsUnreadBodies(@TempDir Path dir) throws IOException {
        String longName = "package/img/twitter/64/" + "a".repeat(120) + ".png";
        byte[] big = new byte[1300];
        Arrays.fill(big, (byte) 7);
        byte[] tar = new TestImages.Tar().file("package/skipped.bin", big).file("package/emoji.json", bytes("[1]"))
                .paxPath(longName).file("ignored-short-name", bytes("pax"))
                .gnuLongName(longName + "2").file("ignored", bytes("gnu")).bytes();
        try (TarReader r = stream(tar, "t.tar")) {
            TarReader.Entry e = r.next();
            assertEquals(new TarReader.Entry("package/skipped.bin", 512, 1300, '0'), e);
            e = r.next();
            assertEquals("package/emoji.json", e.name());
            assertEquals(512 + 512 + 1536, e.offset(), "header + 1300 bytes padded to 1536 + own header");
            assertArrayEquals(bytes("[1]"), r.read(e, 100));
            e = r.next();
            assertEquals(longName, e.name());
            assertArrayEquals(bytes("pax"), r.read(e, 100));
            e = r.next();
            assertEquals(longName + "2", e.name());
            assertTrue(e.isFile());
            assertArrayEquals(bytes("gnu"), r.read(e, 100));
            assertNull(r.next());
            assertNull(r.next());
        }
        // The same archive through a seekable channel gives the same entries, whose offsets read the same data.
        Path p = Files.write(dir.resolve("t.tar"), tar);
        List<TarReader.Entry> seek = new ArrayList<>();
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ); TarReader r = TarReader.of(ch, "t.tar")) {
            for (TarReader.Entry e = r.next(); e != null; e = r.next()) {
                seek.add(e);
            }
            assertEquals(4, seek.size());
            assertArrayEquals(big, TarReader.readAt(ch, seek.get(0), 2000, "t.tar"));
            assertArrayEquals(bytes("gnu"), TarReader.readAt(ch, seek.get(3), 100, "t.tar"));
            TarReader.TarException ex = assertThrows(TarReader.TarException.class,
                    () -> TarReader.readAt(ch, seek.get(0), 1299, "t.tar"));
            assertEquals("oversized tar member", ex.reason());
        }
    }

    @Test
    void rejectsCorruptTruncatedAndOversized() throws IOException {
        byte[] tar = new TestImages.Tar().file("a.txt", new byte[600]).bytes();
        byte[] corrupt = tar.clone();
        corrupt[3] ^= 1;
        TarReader.TarException ex = assertThrows(TarReader.TarException.class, () -> stream(corrupt, "c.tar").next());
        assertTrue(ex.getMessage().startsWith("c.tar: tar header checksum mismatch at byte 0"), ex.getMessage());
        assertEquals("corrupt tar header", ex.reason());

        byte[] truncated = Arrays.copyOf(tar, 700);
        try (TarReader r = stream(truncated, "t.tar")) {
            TarReader.Entry e = r.next();
            ex = assertThrows(TarReader.TarException.class, () -> r.read(e, 1000));
            assertEquals("t.tar: truncated tar archive (member at byte 0)", ex.getMessage());
            assertEquals("truncated tar", ex.reason());
        }
        try (TarReader r = stream(tar, "o.tar")) {
            TarReader.Entry e = r.next();
            ex = assertThrows(TarReader.TarException.class, () -> r.read(e, 599));
            assertEquals("o.tar: a.txt is 600 bytes, more than the 599 accepted", ex.getMessage());
        }
        // Cut exactly after a member, without end blocks: complete.
        try (TarReader r = stream(Arrays.copyOf(tar, 512 + 1024), "cut.tar")) {
            assertEquals("a.txt", r.next().name());
            assertNull(r.next());
        }
    }

    /** Issue 12 item 4: each of these aborted the old shard index with a JDK exception. */
    @Test
    void hostileHeadersAreTarExceptionsWithTheirReason(@TempDir Path dir) throws IOException {
        byte[] max = new byte[12];
        max[0] = (byte) 0x80; // GNU base-256 2^63 - 1
        max[4] = 0x7F;
        Arrays.fill(max, 5, 12, (byte) 0xFF);
        byte[] neg = new byte[12];
        Arrays.fill(neg, (byte) 0xFF); // base-256 -1
        byte[] over = new byte[12];
        over[0] = (byte) 0x80;
        over[1] = 0x01; // 2^80: does not fit a long
        byte[] good = TestImages.png(2, 2, 0);
        Object[][] cases = {
            {new TestImages.Tar().paxRaw(bytes("2 ")), "corrupt tar header"},
            {new TestImages.Tar().paxRaw(bytes("5 =x\n")), "corrupt tar header"}, // well-sized record without a key
            {new TestImages.Tar().paxRaw(bytes("99 path=x\n")), "corrupt tar header"}, // longer than the data
            {new TestImages.Tar().paxRaw(bytes("9999999999999999999 path=x\n")), "corrupt tar header"},
            {new TestImages.Tar().paxRaw(bytes("-1 path=x\n")), "corrupt tar header"},
            {new TestImages.Tar().pax("size", "9223372036854775807").file("a.png", good), "truncated tar"},
            {new TestImages.Tar().pax("size", "-5").file("a.png", good), "corrupt tar header"},
            {new TestImages.Tar().pax("size", "99999999999999999999999").file("a.png", good), "corrupt tar header"},
            {new TestImages.Tar().entry("a.png", '0', good, "", h -> System.arraycopy(max, 0, h, 124, 12)), "truncated tar"},
            {new TestImages.Tar().entry("a.png", '0', good, "", h -> System.arraycopy(neg, 0, h, 124, 12)), "corrupt tar header"},
            {new TestImages.Tar().entry("a.png", '0', good, "", h -> System.arraycopy(over, 0, h, 124, 12)), "corrupt tar header"},
            {new TestImages.Tar().entry("a.png", '0', good, "", h -> h[124] = 'z'), "corrupt tar header"},
            {new TestImages.Tar().entry("big.pax", 'x', new byte[0], "", h -> System.arraycopy(
                    String.format("%011o\0", TarReader.MAX_META + 1).getBytes(StandardCharsets.US_ASCII), 0, h, 124, 12)),
                "truncated tar"}, // a 1 MiB + 1 PAX record that the file cannot hold
        };
        for (int i = 0; i < cases.length; i++) {
            byte[] tar = ((TestImages.Tar) cases[i][0]).bytes();
            Path p = Files.write(dir.resolve(i + ".tar"), tar);
            try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ); TarReader r = TarReader.of(ch, i + ".tar")) {
                TarReader.TarException ex = assertThrows(TarReader.TarException.class, () -> {
                    while (r.next() != null) {
                        // drain
                    }
                }, "case " + i);
                assertEquals(cases[i][1], ex.reason(), "case " + i + ": " + ex.getMessage());
                assertTrue(ex.getMessage().startsWith(i + ".tar: "), ex.getMessage());
            }
        }
        // On a stream of unknown length the 2^63-1 sizes are refused as implausible rather than skipped over.
        TarReader.TarException ex = assertThrows(TarReader.TarException.class, () -> stream(new TestImages.Tar()
                .entry("a.png", '0', good, "", h -> System.arraycopy(max, 0, h, 124, 12)).bytes(), "s.tar").next());
        assertEquals("corrupt tar header", ex.reason());
    }

    @Test
    void safeNames() {
        assertEquals("package/img/x.png", TarReader.safeName("package/img/x.png"));
        assertEquals("x", TarReader.safeName("./x"));
        for (String bad : List.of("/etc/passwd", "package/../../x", "a\\b", "", "C:x", "./", "a/..")) {
            assertNull(TarReader.safeName(bad), bad);
        }
    }
}
