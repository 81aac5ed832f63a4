package io.lcmlora.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded mutation fuzzing of the safetensors reader (issue 12, "tests that keep it so"): 2,000 files mutated from
 * valid ones (bit flips, truncation, header-length and JSON-number edits, token swaps, spliced garbage) go through
 * {@link SafeTensorsFile#open} and every read accessor. Each must either load consistently (every tensor inside
 * the data section, of {@code numel * dtype size} bytes, readable) or fail with one of the project's own exception
 * types: never an {@code OutOfMemoryError}, {@code IndexOutOfBoundsException}, {@code NegativeArraySizeException}
 * or any other JDK exception. A failure names the seed and mutation to replay.
 */
public class SafeTensorsFuzzTest {
    static final long SEED = 0x5AFE7E45L;
    static final int FILES = 2000;

    /**
     * A folder for the mutated files: in RAM ({@code /dev/shm}) where the machine has one, as writing thousands of
     * small files to a loaded disk costs more than the reading under test; else {@code fallback}. The caller deletes
     * it with {@link #deleteScratch}.
     */
    public static Path scratch(Path fallback) throws IOException {
        Path shm = Path.of("/dev/shm");
        if (Files.isDirectory(shm) && Files.isWritable(shm)) {
            return Files.createTempDirectory(shm, "lcm-fuzz-");
        }
        return Files.createDirectories(fallback.resolve("scratch"));
    }

    public static void deleteScratch(Path dir) throws IOException {
        try (var s = Files.list(dir)) {
            for (Path p : s.toList()) {
                Files.delete(p);
            }
        }
        Files.delete(dir);
    }

    /** The project's exception types (any subclass, present or future): their classes live under io.lcmlora. */
    public static boolean isProjectException(Throwable t) {
        return t instanceof Exception && t.getClass().getName().startsWith("io.lcmlora.");
    }

    static List<byte[]> seeds(Path dir) throws IOException {
        List<byte[]> out = new ArrayList<>();
        SafeTensorsWriter a = new SafeTensorsWriter().metadata("format", "pt").metadata("k", "ünï");
        a.addFloats("w", new long[] {2, 3}, new float[] {1, -2, 3.5f, 0, Float.MIN_VALUE, 7}, DType.F32);
        a.addFloats("h", new long[] {3}, new float[] {1, 0.5f, -65504}, DType.F16);
        a.addFloats("b", new long[] {2}, new float[] {1, -3}, DType.BF16);
        a.addLongs("i", new long[] {2}, new long[] {Long.MIN_VALUE, 42});
        a.addDoubles("d", new long[] {}, new double[] {Math.E});
        a.add("u", DType.U8, new long[] {4}, ByteBuffer.wrap(new byte[] {0, 1, 2, (byte) 255}));
        a.add("e", DType.F32, new long[] {0, 5}, ByteBuffer.allocate(0));
        SafeTensorsWriter b = new SafeTensorsWriter();
        b.addFloats("lora_unet_x.lora_down.weight", new long[] {4, 8}, new float[32], DType.F16);
        b.addFloats("lora_unet_x.lora_up.weight", new long[] {8, 4}, new float[32], DType.F16);
        b.addFloats("lora_unet_x.alpha", new long[] {}, new float[] {4}, DType.F32);
        SafeTensorsWriter c = new SafeTensorsWriter();
        ByteBuffer i32 = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putInt(-1).putInt(0).putInt(9).flip();
        c.add("i32", DType.I32, new long[] {3}, i32);
        c.add("bool", DType.BOOL, new long[] {1, 2}, ByteBuffer.wrap(new byte[] {1, 0}));
        c.add("i8", DType.I8, new long[] {1}, ByteBuffer.wrap(new byte[] {-5}));
        int n = 0;
        for (SafeTensorsWriter w : List.of(a, b, c)) {
            Path p = dir.resolve("seed-" + n++ + ".safetensors");
            w.write(p);
            out.add(Files.readAllBytes(p));
        }
        return out;
    }

    static final String[] TOKENS = {"-1", "0", "1", "7", "255", "4294967296", "9223372036854775807",
        "9223372036854775808", "-9223372036854775808", "1e308", "1.5", "\"F32\"", "\"F64\"", "\"BF16\"", "\"I8\"",
        "\"X9\"", "[]", "[0]", "[1, 1]", "[0, 4294967296]", "[18446744073709551615]", "null", "true", "{}", "\"\"",
        "\"\\u0000\"", "\"\\ud800\"", "[[1]]", "\"__metadata__\"", "\"dtype\"", "\"shape\"", "\"data_offsets\"", ","};

    /** One mutation of {@code base}, chosen and parameterised by {@code r}; {@code what} receives its description. */
    public static byte[] mutate(byte[] base, SplittableRandom r, StringBuilder what) {
        byte[] b = base.clone();
        long headerLen = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        int headerEnd = (int) Math.min(b.length, 8 + Math.max(0, Math.min(headerLen, b.length)));
        int kind = r.nextInt(9);
        switch (kind) {
            case 0 -> { // bit flips in the header
                int flips = 1 + r.nextInt(4);
                for (int i = 0; i < flips; i++) {
                    int at = 8 + r.nextInt(Math.max(1, headerEnd - 8));
                    b[at] ^= (byte) (1 << r.nextInt(8));
                }
                what.append("header bit flips x").append(flips);
            }
            case 1 -> { // byte anywhere set to a random value
                int at = r.nextInt(b.length);
                b[at] = (byte) r.nextInt(256);
                what.append("byte ").append(at);
            }
            case 2 -> { // truncation
                int len = r.nextInt(b.length);
                b = java.util.Arrays.copyOf(b, len);
                what.append("truncated to ").append(len);
            }
            case 3 -> { // header length field
                long[] edge = {0, 1, 2, 7, headerLen - 1, headerLen + 1, headerLen + 8, b.length, Long.MAX_VALUE,
                    Long.MIN_VALUE, -1, 1L << 32, 100L * 1024 * 1024 + 1};
                long v = edge[r.nextInt(edge.length)];
                ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(0, v);
                what.append("header length ").append(v);
            }
            case 4, 5 -> { // replace a JSON number, string or bracket in the header with a hostile token
                String h = new String(b, 8, headerEnd - 8, StandardCharsets.UTF_8);
                List<int[]> spans = jsonSpans(h);
                if (spans.isEmpty()) {
                    what.append("no span");
                    break;
                }
                int[] s = spans.get(r.nextInt(spans.size()));
                String tok = TOKENS[r.nextInt(TOKENS.length)];
                String nh = h.substring(0, s[0]) + tok + h.substring(s[1]);
                b = rebuild(b, headerEnd, nh, r.nextInt(4) == 0);
                what.append("token '").append(h, s[0], s[1]).append("' -> '").append(tok).append('\'');
            }
            case 6 -> { // swap two spans of the header (offsets of two tensors, a name and a dtype, ...)
                String h = new String(b, 8, headerEnd - 8, StandardCharsets.UTF_8);
                List<int[]> spans = jsonSpans(h);
                if (spans.size() < 2) {
                    what.append("no spans");
                    break;
                }
                int[] x = spans.get(r.nextInt(spans.size()));
                int[] y = spans.get(r.nextInt(spans.size()));
                if (x[0] > y[0]) {
                    int[] t = x;
                    x = y;
                    y = t;
                }
                if (x[1] > y[0]) {
                    what.append("overlapping spans");
                    break;
                }
                String nh = h.substring(0, x[0]) + h.substring(y[0], y[1]) + h.substring(x[1], y[0])
                        + h.substring(x[0], x[1]) + h.substring(y[1]);
                b = rebuild(b, headerEnd, nh, false);
                what.append("swap spans");
            }
            case 7 -> { // insert or delete bytes in the data section
                int at = headerEnd + r.nextInt(Math.max(1, b.length - headerEnd));
                int n = 1 + r.nextInt(16);
                byte[] nb;
                if (r.nextBoolean() && at + n <= b.length) {
                    nb = new byte[b.length - n];
                    System.arraycopy(b, 0, nb, 0, at);
                    System.arraycopy(b, at + n, nb, at, b.length - at - n);
                    what.append("deleted ").append(n).append(" at ").append(at);
                } else {
                    nb = new byte[b.length + n];
                    System.arraycopy(b, 0, nb, 0, Math.min(at, b.length));
                    System.arraycopy(b, Math.min(at, b.length), nb, Math.min(at, b.length) + n, b.length - Math.min(at, b.length));
                    what.append("inserted ").append(n).append(" at ").append(at);
                }
                b = nb;
            }
            default -> { // a random header of random bytes and length
                int n = r.nextInt(64);
                byte[] g = new byte[8 + n + r.nextInt(32)];
                r.nextBytes(g);
                ByteBuffer.wrap(g).order(ByteOrder.LITTLE_ENDIAN).putLong(0, n);
                b = g;
                what.append("random ").append(n);
            }
        }
        return b;
    }

    /** Spans of numbers, strings and brackets in a JSON text (no JSON parser involved: the text may be broken). */
    static List<int[]> jsonSpans(String h) {
        List<int[]> out = new ArrayList<>();
        int i = 0;
        while (i < h.length()) {
            char c = h.charAt(i);
            if (c == '"') {
                int j = i + 1;
                while (j < h.length() && h.charAt(j) != '"') {
                    j += h.charAt(j) == '\\' ? 2 : 1;
                }
                out.add(new int[] {i, Math.min(j + 1, h.length())});
                i = j + 1;
            } else if (c == '-' || Character.isDigit(c)) {
                int j = i + 1;
                while (j < h.length() && (Character.isDigit(h.charAt(j)) || h.charAt(j) == '.' || h.charAt(j) == 'e')) {
                    j++;
                }
                out.add(new int[] {i, j});
                i = j;
            } else if (c == '[' || c == ']' || c == '{' || c == '}') {
                out.add(new int[] {i, i + 1});
                i++;
            } else {
                i++;
            }
        }
        return out;
    }

    /** The file with a new header text; the length field updated unless {@code keepLength} (a stale length). */
    public static byte[] rebuild(byte[] b, int headerEnd, String header, boolean keepLength) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[8 + h.length + (b.length - headerEnd)];
        System.arraycopy(b, 0, out, 0, 8);
        System.arraycopy(h, 0, out, 8, h.length);
        System.arraycopy(b, headerEnd, out, 8 + h.length, b.length - headerEnd);
        if (!keepLength) {
            ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).putLong(0, h.length);
        }
        return out;
    }

    /** Opens and reads every tensor every way; returns normally only when the whole file was consistent. */
    static void readEverything(Path p, long fileSize) throws IOException {
        try (SafeTensorsFile f = SafeTensorsFile.open(p)) {
            f.metadata().forEach((k, v) -> assertTrue(k != null && v != null));
            for (Map.Entry<String, TensorInfo> e : f.tensors().entrySet()) {
                TensorInfo t = f.info(e.getKey());
                ByteBuffer bytes = f.bytes(e.getKey());
                assertEquals(t.numel() * t.dtype().size(), bytes.remaining(), e.getKey());
                assertEquals(t.byteSize(), bytes.remaining(), e.getKey());
                assertTrue(bytes.remaining() <= fileSize);
                if (t.dtype().isFloating()) {
                    assertEquals(t.numel(), f.floats(e.getKey()).length);
                    assertEquals(t.numel(), f.doubles(e.getKey()).length);
                } else {
                    assertEquals(t.numel(), f.longs(e.getKey()).length);
                }
            }
        }
    }

    @Test
    void mutatedFilesLoadConsistentlyOrFailWithTheProjectsExceptions(@TempDir Path tmp) throws IOException {
        Path dir = scratch(tmp);
        try {
            fuzz(dir);
        } finally {
            deleteScratch(dir);
        }
    }

    private static void fuzz(Path dir) throws IOException {
        List<byte[]> seeds = seeds(dir);
        for (byte[] s : seeds) {
            readEverything(Files.write(dir.resolve("check.safetensors"), s), s.length); // the seeds themselves load
        }
        SplittableRandom r = new SplittableRandom(SEED);
        Map<String, Integer> outcomes = new TreeMap<>();
        for (int i = 0; i < FILES; i++) {
            StringBuilder what = new StringBuilder();
            byte[] m = mutate(seeds.get(i % seeds.size()), r, what);
            Path p = Files.write(dir.resolve("fuzz-" + i + ".safetensors"), m); // new files: truncating is slower
            try {
                readEverything(p, m.length);
                outcomes.merge("loaded", 1, Integer::sum);
            } catch (Throwable t) {
                if (!isProjectException(t)) {
                    fail("file " + i + " (seed " + SEED + ", " + what + "): " + t, t);
                }
                outcomes.merge(t.getClass().getSimpleName(), 1, Integer::sum);
                assertTrue(t.getMessage() != null && t.getMessage().contains(p.toString()),
                        "file " + i + " (" + what + "): the message names the file: " + t.getMessage());
            }
        }
        assertEquals(FILES, outcomes.values().stream().mapToInt(Integer::intValue).sum());
        assertTrue(outcomes.getOrDefault("loaded", 0) > FILES / 50, "some mutations stay valid: " + outcomes);
        assertTrue(outcomes.getOrDefault("SafeTensorsException", 0) > FILES / 2, "most are refused: " + outcomes);
    }
}
