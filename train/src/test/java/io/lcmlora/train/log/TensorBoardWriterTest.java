package io.lcmlora.train.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reads the event file back with a hand-written TFRecord + protobuf parser that shares no code with the writer. */
class TensorBoardWriterTest {
    /** CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), bit by bit. */
    static int crc32c(byte[] b, int off, int len) {
        int crc = 0xFFFFFFFF;
        for (int i = off; i < off + len; i++) {
            crc ^= b[i] & 0xFF;
            for (int k = 0; k < 8; k++) {
                crc = (crc >>> 1) ^ (0x82F63B78 & -(crc & 1));
            }
        }
        return ~crc;
    }

    static int masked(int crc) {
        return Integer.rotateRight(crc, 15) + 0xa282ead8;
    }

    static long le(byte[] b, int off, int n) {
        long v = 0;
        for (int i = n - 1; i >= 0; i--) {
            v = (v << 8) | (b[off + i] & 0xFF);
        }
        return v;
    }

    /** One protobuf field: number, wire type, and its value (Long for varint/fixed, byte[] for length-delimited). */
    record Field(int number, int wire, Object value) {}

    static List<Field> fields(byte[] msg) {
        List<Field> out = new ArrayList<>();
        int[] pos = {0};
        while (pos[0] < msg.length) {
            long tag = varint(msg, pos);
            int number = (int) (tag >>> 3);
            int wire = (int) (tag & 7);
            Object v = switch (wire) {
                case 0 -> varint(msg, pos);
                case 1 -> { long x = le(msg, pos[0], 8); pos[0] += 8; yield x; }
                case 5 -> { long x = le(msg, pos[0], 4); pos[0] += 4; yield x; }
                case 2 -> {
                    int n = (int) varint(msg, pos);
                    byte[] d = java.util.Arrays.copyOfRange(msg, pos[0], pos[0] + n);
                    pos[0] += n;
                    yield d;
                }
                default -> throw new AssertionError("wire type " + wire);
            };
            out.add(new Field(number, wire, v));
        }
        return out;
    }

    static long varint(byte[] b, int[] pos) {
        long v = 0;
        for (int shift = 0; ; shift += 7) {
            int x = b[pos[0]++] & 0xFF;
            v |= (long) (x & 0x7F) << shift;
            if (x < 0x80) {
                return v;
            }
        }
    }

    static Field one(List<Field> fs, int number) {
        return fs.stream().filter(f -> f.number == number).findFirst().orElseThrow(() -> new AssertionError("no field " + number));
    }

    /** Reads complete records; stops at a truncated tail. Every CRC of a complete record must match. */
    static List<byte[]> records(Path file) throws IOException {
        byte[] all = Files.readAllBytes(file);
        List<byte[]> out = new ArrayList<>();
        int p = 0;
        while (p + 12 <= all.length) {
            long len = le(all, p, 8);
            assertEquals(masked(crc32c(all, p, 8)), (int) le(all, p + 8, 4), "length CRC at " + p);
            if (p + 12 + len + 4 > all.length) {
                break;
            }
            byte[] data = java.util.Arrays.copyOfRange(all, p + 12, p + 12 + (int) len);
            assertEquals(masked(crc32c(data, 0, data.length)), (int) le(all, p + 12 + (int) len, 4), "data CRC at " + p);
            out.add(data);
            p += 12 + (int) len + 4;
        }
        return out;
    }

    @Test
    void crcMatchesTheKnownVectors() {
        // RFC 3720 B.4: 32 bytes of zeros -> 0x8A9136AA; "123456789" -> 0xE3069283.
        assertEquals(0x8A9136AA, crc32c(new byte[32], 0, 32));
        byte[] digits = "123456789".getBytes(StandardCharsets.US_ASCII);
        assertEquals(0xE3069283, crc32c(digits, 0, 9));
        assertEquals(masked(0xE3069283), TensorBoardWriter.maskedCrc32c(digits, 0, 9));
    }

    @Test
    void scalarsAndImagesReadBackField(@TempDir Path dir) throws IOException {
        BufferedImage img = new BufferedImage(5, 3, BufferedImage.TYPE_INT_RGB);
        img.setRGB(4, 2, 0x12AB34);
        Path file;
        try (TensorBoardWriter tb = TensorBoardWriter.open(dir)) {
            file = tb.file();
            Map<String, Double> s = new LinkedHashMap<>();
            s.put("train/loss", 0.125);
            s.put("train/lr", 1e-4);
            tb.scalars(7, s);
            tb.scalar("train/grad_norm", 8, 3.5);
            tb.image("validation/a cat", 8, img);
        }
        assertTrue(file.getFileName().toString().startsWith("events.out.tfevents."), file.toString());
        List<byte[]> recs = records(file);
        assertEquals(4, recs.size());

        List<Field> first = fields(recs.get(0));
        assertEquals("brain.Event:2", new String((byte[]) one(first, 3).value(), StandardCharsets.UTF_8));
        double wall = Double.longBitsToDouble((Long) one(first, 1).value());
        assertTrue(Math.abs(wall - System.currentTimeMillis() / 1000.0) < 600, "wall_time " + wall);

        List<Field> e1 = fields(recs.get(1));
        assertEquals(7L, one(e1, 2).value());
        List<Field> values = fields((byte[]) one(e1, 5).value()).stream().filter(f -> f.number == 1).toList();
        assertEquals(2, values.size());
        List<Field> v0 = fields((byte[]) values.get(0).value());
        assertEquals("train/loss", new String((byte[]) one(v0, 1).value(), StandardCharsets.UTF_8));
        assertEquals(5, one(v0, 2).wire());
        assertEquals(0.125f, Float.intBitsToFloat((int) (long) (Long) one(v0, 2).value()));
        List<Field> v1 = fields((byte[]) values.get(1).value());
        assertEquals(1e-4f, Float.intBitsToFloat((int) (long) (Long) one(v1, 2).value()));

        List<Field> e2 = fields(recs.get(2));
        assertEquals(8L, one(e2, 2).value());
        List<Field> v2 = fields((byte[]) one(fields((byte[]) one(e2, 5).value()), 1).value());
        assertEquals(3.5f, Float.intBitsToFloat((int) (long) (Long) one(v2, 2).value()));

        List<Field> e3 = fields(recs.get(3));
        List<Field> v3 = fields((byte[]) one(fields((byte[]) one(e3, 5).value()), 1).value());
        assertEquals("validation/a cat", new String((byte[]) one(v3, 1).value(), StandardCharsets.UTF_8));
        List<Field> image = fields((byte[]) one(v3, 4).value());
        assertEquals(3L, one(image, 1).value()); // height
        assertEquals(5L, one(image, 2).value()); // width
        assertEquals(3L, one(image, 3).value()); // colorspace RGB
        BufferedImage back = ImageIO.read(new ByteArrayInputStream((byte[]) one(image, 4).value()));
        assertEquals(5, back.getWidth());
        assertEquals(0x12AB34, back.getRGB(4, 2) & 0xFFFFFF);
        assertEquals(0, back.getRGB(0, 0) & 0xFFFFFF);
    }

    @Test
    void aCutTailLeavesEarlierRecordsIntactAndANewWriterUsesANewFile(@TempDir Path dir) throws IOException {
        Path file;
        try (TensorBoardWriter tb = TensorBoardWriter.open(dir)) {
            file = tb.file();
            for (int i = 0; i < 5; i++) {
                tb.scalar("loss", i, i * 0.5);
            }
        }
        long size = Files.size(file);
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(size - 7); // a crash mid-record
        }
        assertEquals(5, records(file).size()); // the file-version record and 4 scalars survive
        try (TensorBoardWriter again = TensorBoardWriter.open(dir)) {
            assertTrue(!again.file().equals(file));
            again.scalar("loss", 5, 2.5);
        }
        assertEquals(size - 7, Files.size(file));
    }
}
