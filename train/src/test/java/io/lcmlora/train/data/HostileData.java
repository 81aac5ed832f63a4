package io.lcmlora.train.data;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * Data-fuzz fixtures of issue 12, generated at test time (nothing large is committed): image bombs whose headers
 * promise enormous or extremely thin images, a JSONL manifest whose lines point at {@code /dev/zero}, a FIFO, a folder,
 * carry invalid UTF-8 or empty captions, and webdataset shards with hostile tar headers. Each fixture knows the skip
 * counts a correct reader must report.
 */
public final class HostileData {
    private HostileData() {}

    /** A manifest and the counts expected from it. */
    public record Fixture(Path path, int usable, Map<String, Integer> skipped, Map<String, Integer> used) {}

    /**
     * A PNG of {@code w x h} grey pixels written row by row with a streaming deflater (a 1 x 4,000,000 strip is
     * 16 MB raw, some 16 KB encoded), or only its header and an empty IDAT when {@code headerOnly}.
     */
    public static byte[] png(int w, int h, boolean headerOnly) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'});
        ByteBuffer ihdr = ByteBuffer.allocate(13).putInt(w).putInt(h).put((byte) 8).put((byte) 2).put((byte) 0)
                .put((byte) 0).put((byte) 0);
        chunk(out, "IHDR", ihdr.array());
        ByteArrayOutputStream idat = new ByteArrayOutputStream();
        if (!headerOnly) {
            Deflater d = new Deflater(Deflater.BEST_SPEED);
            int rowBytes = 1 + 3 * w; // filter byte 0, then RGB
            int rowsPerChunk = Math.max(1, (1 << 16) / rowBytes);
            byte[] rows = new byte[rowsPerChunk * rowBytes];
            Arrays.fill(rows, (byte) 0x80);
            for (int r = 0; r < rowsPerChunk; r++) {
                rows[r * rowBytes] = 0;
            }
            byte[] buf = new byte[1 << 16];
            for (int y = 0; y < h; y += rowsPerChunk) {
                d.setInput(rows, 0, Math.min(rowsPerChunk, h - y) * rowBytes);
                while (!d.needsInput()) {
                    int n = d.deflate(buf);
                    idat.write(buf, 0, n);
                }
            }
            d.finish();
            while (!d.finished()) {
                int n = d.deflate(buf);
                idat.write(buf, 0, n);
            }
            d.end();
        }
        chunk(out, "IDAT", idat.toByteArray());
        chunk(out, "IEND", new byte[0]);
        return out.toByteArray();
    }

    private static void chunk(ByteArrayOutputStream out, String type, byte[] data) {
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        out.writeBytes(ByteBuffer.allocate(4).putInt(data.length).array());
        out.writeBytes(t);
        out.writeBytes(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        out.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }

    /** A real 16 x 16 JPEG whose SOF0 header is patched to claim {@code w x h}. */
    public static byte[] jpegClaiming(int w, int h) throws IOException {
        byte[] jpg = TestImages.encode(TestImages.solid(16, 16, 0x406080), "jpg");
        for (int i = 2; i + 9 < jpg.length; i++) {
            if ((jpg[i] & 0xFF) == 0xFF && (jpg[i + 1] & 0xFF) == 0xC0) {
                jpg[i + 5] = (byte) (h >> 8);
                jpg[i + 6] = (byte) h;
                jpg[i + 7] = (byte) (w >> 8);
                jpg[i + 8] = (byte) w;
                return jpg;
            }
        }
        throw new IOException("no SOF0 marker in the encoder's JPEG");
    }

    /** Makes a named pipe (a FIFO: opening it for reading blocks until a writer appears). */
    public static Path fifo(Path p) throws IOException, InterruptedException {
        Process proc = new ProcessBuilder("mkfifo", p.toString()).redirectErrorStream(true).start();
        if (!proc.waitFor(30, TimeUnit.SECONDS) || proc.exitValue() != 0) {
            throw new IOException("mkfifo " + p + " failed: " + new String(proc.getInputStream().readAllBytes(),
                    StandardCharsets.UTF_8));
        }
        return p;
    }

    /**
     * A JSONL manifest in {@code dir}: 3 good 20 x 16 PNGs (one with an empty caption, one whitespace-only), the
     * 1 x 100,000 and 100,000 x 1 bombs (both usable: only the crop window of the cover-resized image is computed;
     * the 1 x 4,000,000 strip is covered by the allocation plan alone, as ImageIO takes seconds to decode it), a
     * 1 x 67,000,000 header (under the pixel cap, over a 64 MiB per-image budget),
     * a 1 x 100,000,000 header and a JPEG claiming 65,500 x 65,500 (over the pixel cap), and lines whose image is
     * /dev/zero, a FIFO, a folder or missing, a line of invalid UTF-8, a line over the 1 MiB line cap, a JSON
     * array and a line without caption.
     */
    public static Fixture jsonl(Path dir) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        Files.write(dir.resolve("a.png"), TestImages.png(20, 16, 0xFF0000));
        Files.write(dir.resolve("b.png"), TestImages.png(20, 16, 0x00FF00));
        Files.write(dir.resolve("c.png"), TestImages.png(20, 16, 0x0000FF));
        Files.write(dir.resolve("thin.png"), png(1, 100_000, false));
        Files.write(dir.resolve("wide.png"), png(100_000, 1, false));
        Files.write(dir.resolve("67m.png"), png(1, 67_000_000, true));
        Files.write(dir.resolve("100m.png"), png(1, 100_000_000, true));
        Files.write(dir.resolve("huge.jpg"), jpegClaiming(65_500, 65_500));
        fifo(dir.resolve("pipe.png"));
        Files.createDirectories(dir.resolve("folder.png"));
        ByteArrayOutputStream m = new ByteArrayOutputStream();
        for (String line : new String[] {
            "{\"image\": \"a.png\", \"caption\": \"red\"}",
            "{\"image\": \"b.png\", \"caption\": \"\"}",
            "{\"image\": \"c.png\", \"caption\": \"  \\t \"}",
            "{\"image\": \"thin.png\", \"caption\": \"thin\"}",
            "{\"image\": \"wide.png\", \"caption\": \"wide\"}",
            "{\"image\": \"67m.png\", \"caption\": \"67m\"}",
            "{\"image\": \"100m.png\", \"caption\": \"100m\"}",
            "{\"image\": \"huge.jpg\", \"caption\": \"huge\"}",
            "{\"image\": \"/dev/zero\", \"caption\": \"zero\"}",
            "{\"image\": \"pipe.png\", \"caption\": \"fifo\"}",
            "{\"image\": \"folder.png\", \"caption\": \"folder\"}",
            "{\"image\": \"missing.png\", \"caption\": \"missing\"}",
            "[1, 2]",
            "{\"image\": \"a.png\"}",
        }) {
            m.writeBytes((line + "\n").getBytes(StandardCharsets.UTF_8));
        }
        m.writeBytes(new byte[] {'{', '"', 'i', (byte) 0xC3, (byte) 0x28, '"', '}', '\n'}); // invalid UTF-8
        m.writeBytes(("{\"image\": \"a.png\", \"caption\": \"" + "x".repeat(DataFiles.MAX_TEXT_BYTES) + "\"}\n")
                .getBytes(StandardCharsets.UTF_8));
        Path manifest = Files.write(dir.resolve("manifest.jsonl"), m.toByteArray());
        Map<String, Integer> skipped = new TreeMap<>(Map.of(
                "bad manifest line", 4, // JSON array, no caption, invalid UTF-8, over the line cap
                "image too large", 3, // 67m (budget), 100m and the JPEG (pixel cap)
                "not a regular file", 3, // /dev/zero, the FIFO, the folder
                "read error", 1)); // missing
        return new Fixture(manifest, 5, skipped, Map.of("empty caption", 2));
    }

    /** The per-image budget the fixture's counts assume. */
    public static final long BUDGET = 64L << 20;

    /**
     * Webdataset shards in {@code dir}: one good shard of 2 examples, and one shard per hostile header, each after one
     * good example (kept: the listing stops at the bad header): PAX {@code "2 "}, PAX {@code size=2^63-1}, a GNU
     * base-256 size of 2^63-1, a negative base-256 size, a size past the end of the file, a bad checksum.
     */
    public static Fixture shards(Path dir) throws IOException {
        Files.createDirectories(dir);
        byte[] png = TestImages.png(16, 16, 0x808080);
        Files.write(dir.resolve("000-good.tar"), new TestImages.Tar().file("0.png", png).text("0.txt", "zero")
                .file("1.png", png).text("1.txt", "one").bytes());
        byte[] max = new byte[12];
        max[0] = (byte) 0x80;
        max[4] = 0x7F;
        Arrays.fill(max, 5, 12, (byte) 0xFF);
        byte[] neg = new byte[12];
        Arrays.fill(neg, (byte) 0xFF);
        String past = String.format("%011o\0", 1L << 33);
        Files.write(dir.resolve("001-pax2.tar"), good(png).paxRaw("2 ".getBytes(StandardCharsets.US_ASCII)).file("x.png", png).bytes());
        Files.write(dir.resolve("002-paxsize.tar"), good(png).pax("size", Long.toString(Long.MAX_VALUE)).file("x.png", png).bytes());
        Files.write(dir.resolve("003-base256.tar"), good(png).entry("x.png", '0', png, "", h -> System.arraycopy(max, 0, h, 124, 12)).bytes());
        Files.write(dir.resolve("004-negative.tar"), good(png).entry("x.png", '0', png, "", h -> System.arraycopy(neg, 0, h, 124, 12)).bytes());
        Files.write(dir.resolve("005-past-end.tar"), good(png).entry("x.png", '0', png, "",
                h -> System.arraycopy(past.getBytes(StandardCharsets.US_ASCII), 0, h, 124, 12)).bytes());
        byte[] bad = good(png).file("x.png", png).text("x.txt", "x").bytes();
        bad[2 * 512 + 2 * 512 + 20] ^= 0x5A; // inside the third header (after 2 members of one block each)
        Files.write(dir.resolve("006-checksum.tar"), bad);
        Map<String, Integer> skipped = new TreeMap<>(Map.of("corrupt tar header", 3, "truncated tar", 3));
        return new Fixture(dir, 2 + 6, skipped, Map.of());
    }

    private static TestImages.Tar good(byte[] png) {
        return new TestImages.Tar().file("g.png", png).text("g.txt", "good");
    }
}
