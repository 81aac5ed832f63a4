package io.lcmlora.train.demo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class TarReaderTest {
    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void readsFilesPaxAndGnuLongNamesAndSkipsUnreadBodies() throws IOException {
        String longName = "package/img/twitter/64/" + "a".repeat(120) + ".png";
        byte[] big = new byte[1300];
        Arrays.fill(big, (byte) 7);
        byte[] tar = new TarBuilder().file("package/skipped.bin", big).file("package/emoji.json", bytes("[1]"))
                .paxPath(longName).file("ignored-short-name", bytes("pax"))
                .gnuLongName(longName + "2").file("ignored", bytes("gnu")).tar();
        try (TarReader r = new TarReader(new ByteArrayInputStream(tar), "t.tar")) {
            TarReader.Entry e = r.next();
            assertEquals(new TarReader.Entry("package/skipped.bin", 1300, '0'), e);
            e = r.next();
            assertEquals("package/emoji.json", e.name());
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
    }

    @Test
    void rejectsCorruptTruncatedAndOversized() throws IOException {
        byte[] tar = new TarBuilder().file("a.txt", new byte[600]).tar();
        byte[] corrupt = tar.clone();
        corrupt[3] ^= 1;
        IOException ex = assertThrows(IOException.class,
                () -> new TarReader(new ByteArrayInputStream(corrupt), "c.tar").next());
        assertTrue(ex.getMessage().contains("c.tar: tar header checksum mismatch"), ex.getMessage());

        byte[] truncated = Arrays.copyOf(tar, 700);
        try (TarReader r = new TarReader(new ByteArrayInputStream(truncated), "t.tar")) {
            TarReader.Entry e = r.next();
            ex = assertThrows(IOException.class, () -> r.read(e, 1000));
            assertEquals("t.tar: truncated tar archive", ex.getMessage());
        }
        try (TarReader r = new TarReader(new ByteArrayInputStream(tar), "o.tar")) {
            TarReader.Entry e = r.next();
            ex = assertThrows(IOException.class, () -> r.read(e, 599));
            assertEquals("o.tar: a.txt is 600 bytes, more than the 599 accepted", ex.getMessage());
        }
    }

    @Test
    void safeNames() {
        assertTrue(TarReader.isSafeName("package/img/x.png"));
        assertFalse(TarReader.isSafeName("/etc/passwd"));
        assertFalse(TarReader.isSafeName("package/../../x"));
        assertFalse(TarReader.isSafeName("./x"));
        assertFalse(TarReader.isSafeName("a\\b"));
        assertFalse(TarReader.isSafeName(""));
    }
}
