package io.lcmlora.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import java.io.IOException;
import java.io.StringReader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A safetensors file opened for reading. The file is untrusted: the header length is bounded, the JSON is
 * parsed strictly, and every entry's dtype, shape and byte range is checked against the file size before
 * any tensor is read (no overlaps, no gaps, no trailing bytes). Tensors are memory-mapped one at a time,
 * so files over 2 GB work; each tensor must be under 2 GB (the size of one mapped window).
 */
public final class SafeTensorsFile implements AutoCloseable {
    /** Largest accepted JSON header (the reference implementation's limit). */
    public static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

    private final Path path;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafeTensorsFile(Path path, FileChannel channel, long dataStart, Map<String, TensorInfo> tensors,
            Map<String, String> metadata) {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    /** Opens and validates a file; throws {@link SafeTensorsException} naming the file and entry on bad input. */
    public static SafeTensorsFile open(Path path) throws IOException {
        FileChannel ch = FileChannel.open(path, StandardOpenOption.READ);
        try {
            long size = ch.size();
            if (size < 8) {
                throw err(path, "file is " + size + " bytes, shorter than the 8-byte header length");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(path, ch, lenBuf, 0);
            long n = lenBuf.getLong(0);
            if (n < 2 || n > MAX_HEADER_BYTES) {
                throw err(path, "header length " + Long.toUnsignedString(n) + " is outside [2, " + MAX_HEADER_BYTES + "]");
            }
            if (n > size - 8) {
                throw err(path, "header length " + n + " exceeds the file size " + size + " (truncated file?)");
            }
            ByteBuffer hb = ByteBuffer.allocate((int) n);
            readFully(path, ch, hb, 8);
            String json;
            try {
                json = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(hb.flip()).toString();
            } catch (CharacterCodingException e) {
                throw err(path, "header is not valid UTF-8");
            }
            long dataLen = size - 8 - n;
            Map<String, String> meta = new LinkedHashMap<>();
            Map<String, TensorInfo> entries = parseHeader(path, json, dataLen, meta);
            return new SafeTensorsFile(path, ch, 8 + n, Collections.unmodifiableMap(entries),
                    Collections.unmodifiableMap(meta));
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    private static void readFully(Path path, FileChannel ch, ByteBuffer b, long pos) throws IOException {
        while (b.hasRemaining()) {
            int r = ch.read(b, pos + b.position());
            if (r < 0) {
                throw err(path, "unexpected end of file at byte " + (pos + b.position()));
            }
        }
    }

    private static Map<String, TensorInfo> parseHeader(Path path, String json, long dataLen, Map<String, String> meta)
            throws SafeTensorsException {
        Map<String, TensorInfo> out = new LinkedHashMap<>();
        try (JsonReader r = new JsonReader(new StringReader(json))) {
            r.setStrictness(Strictness.STRICT);
            if (r.peek() != JsonToken.BEGIN_OBJECT) {
                throw err(path, "header is not a JSON object");
            }
            r.beginObject();
            boolean sawMeta = false;
            while (r.hasNext()) {
                String name = r.nextName();
                if (name.equals("__metadata__")) {
                    if (sawMeta) {
                        throw err(path, "duplicate __metadata__");
                    }
                    sawMeta = true;
                    readMetadata(path, r, meta);
                    continue;
                }
                if (out.containsKey(name)) {
                    throw err(path, "duplicate tensor '" + name + "'");
                }
                out.put(name, readEntry(path, name, r));
            }
            r.endObject();
            if (r.peek() != JsonToken.END_DOCUMENT) {
                throw err(path, "trailing data after the header object");
            }
        } catch (SafeTensorsException e) {
            throw e;
        } catch (IOException | IllegalStateException | NumberFormatException e) {
            throw err(path, "header is not valid JSON: " + e.getMessage());
        }
        for (TensorInfo t : out.values()) {
            if (t.end() > dataLen) {
                throw err(path, "tensor '" + t.name() + "': data_offsets [" + t.begin() + ", " + t.end()
                        + "] run past the end of the " + dataLen + "-byte data section (truncated file?)");
            }
        }
        List<TensorInfo> byOffset = new ArrayList<>(out.values());
        byOffset.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        long expected = 0;
        String previous = null;
        for (TensorInfo t : byOffset) {
            if (t.begin() < expected) {
                throw err(path, "tensor '" + t.name() + "' overlaps tensor '" + previous + "' (begins at " + t.begin()
                        + ", '" + previous + "' ends at " + expected + ")");
            }
            if (t.begin() > expected) {
                throw err(path, "gap in the data section before tensor '" + t.name() + "' (bytes " + expected
                        + ".." + t.begin() + " unused)");
            }
            expected = t.end();
            previous = t.name();
        }
        if (expected != dataLen) {
            throw err(path, "data section has " + (dataLen - expected) + " trailing bytes after the last tensor"
                    + (previous == null ? "" : " '" + previous + "'"));
        }
        return out;
    }

    private static void readMetadata(Path path, JsonReader r, Map<String, String> meta) throws IOException {
        if (r.peek() == JsonToken.NULL) {
            r.nextNull();
            return;
        }
        if (r.peek() != JsonToken.BEGIN_OBJECT) {
            throw err(path, "__metadata__ must be an object of strings");
        }
        r.beginObject();
        while (r.hasNext()) {
            String k = r.nextName();
            if (r.peek() != JsonToken.STRING) {
                throw err(path, "__metadata__ value for '" + k + "' must be a string");
            }
            meta.put(k, r.nextString());
        }
        r.endObject();
    }

    private static TensorInfo readEntry(Path path, String name, JsonReader r) throws IOException {
        if (r.peek() != JsonToken.BEGIN_OBJECT) {
            throw err(path, "tensor '" + name + "': entry must be an object");
        }
        String dtypeName = null;
        long[] shape = null;
        long[] offsets = null;
        r.beginObject();
        while (r.hasNext()) {
            String k = r.nextName();
            if ((k.equals("dtype") && dtypeName != null) || (k.equals("shape") && shape != null)
                    || (k.equals("data_offsets") && offsets != null)) {
                throw err(path, "tensor '" + name + "': field '" + k + "' appears twice");
            }
            switch (k) {
                case "dtype" -> {
                    if (r.peek() != JsonToken.STRING) {
                        throw err(path, "tensor '" + name + "': dtype must be a string");
                    }
                    dtypeName = r.nextString();
                }
                case "shape" -> shape = readLongs(path, name, "shape", r);
                case "data_offsets" -> offsets = readLongs(path, name, "data_offsets", r);
                default -> throw err(path, "tensor '" + name + "': unknown field '" + k + "'");
            }
        }
        r.endObject();
        if (dtypeName == null || shape == null || offsets == null) {
            throw err(path, "tensor '" + name + "': needs dtype, shape and data_offsets");
        }
        DType dtype = DType.parse(dtypeName);
        if (dtype == null) {
            throw err(path, "tensor '" + name + "': unknown dtype '" + dtypeName + "' (expected one of F64, F32, F16, BF16, I64, I32, I8, U8, BOOL)");
        }
        if (offsets.length != 2 || offsets[0] > offsets[1]) {
            throw err(path, "tensor '" + name + "': data_offsets must be [begin, end] with begin <= end");
        }
        long numel = 1;
        try {
            for (long d : shape) {
                numel = Math.multiplyExact(numel, d);
            }
            long bytes = Math.multiplyExact(numel, dtype.size());
            if (bytes != offsets[1] - offsets[0]) {
                throw err(path, "tensor '" + name + "': shape " + java.util.Arrays.toString(shape) + " of " + dtype
                        + " needs " + bytes + " bytes but data_offsets span " + (offsets[1] - offsets[0]));
            }
        } catch (ArithmeticException e) {
            throw err(path, "tensor '" + name + "': shape " + java.util.Arrays.toString(shape) + " overflows");
        }
        return new TensorInfo(name, dtype, shape, offsets[0], offsets[1]);
    }

    private static long[] readLongs(Path path, String name, String field, JsonReader r) throws IOException {
        if (r.peek() != JsonToken.BEGIN_ARRAY) {
            throw err(path, "tensor '" + name + "': " + field + " must be an array of integers");
        }
        List<Long> vals = new ArrayList<>();
        r.beginArray();
        while (r.hasNext()) {
            if (r.peek() != JsonToken.NUMBER) {
                throw err(path, "tensor '" + name + "': " + field + " must be an array of integers");
            }
            String s = r.nextString();
            long v;
            try {
                v = Long.parseLong(s);
            } catch (NumberFormatException e) {
                throw err(path, "tensor '" + name + "': " + field + " value '" + s + "' is not a 64-bit integer");
            }
            if (v < 0) {
                throw err(path, "tensor '" + name + "': " + field + " value " + v + " is negative");
            }
            vals.add(v);
            if (vals.size() > 64) {
                throw err(path, "tensor '" + name + "': " + field + " has more than 64 entries");
            }
        }
        r.endArray();
        return vals.stream().mapToLong(Long::longValue).toArray();
    }

    private static SafeTensorsException err(Path path, String msg) {
        return new SafeTensorsException(path + ": " + msg);
    }

    public Path path() {
        return path;
    }

    /** Entries in header order. */
    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    public TensorInfo info(String name) throws SafeTensorsException {
        TensorInfo t = tensors.get(name);
        if (t == null) {
            throw err(path, "no tensor named '" + name + "'");
        }
        return t;
    }

    /** The raw little-endian bytes of a tensor, memory-mapped read-only. */
    public ByteBuffer bytes(String name) throws IOException {
        TensorInfo t = info(name);
        if (t.byteSize() > Integer.MAX_VALUE) {
            throw err(path, "tensor '" + name + "' has " + t.byteSize() + " bytes, over the 2 GiB of one mapped window");
        }
        if (t.byteSize() == 0) {
            return ByteBuffer.allocateDirect(0).order(ByteOrder.LITTLE_ENDIAN);
        }
        return channel.map(FileChannel.MapMode.READ_ONLY, dataStart + t.begin(), t.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** A floating tensor's values widened to float (F16/BF16/F64 converted). */
    public float[] floats(String name) throws IOException {
        TensorInfo t = info(name);
        if (!t.dtype().isFloating()) {
            throw err(path, "tensor '" + name + "' is " + t.dtype() + ", expected a floating dtype");
        }
        ByteBuffer b = bytes(name);
        int n = Math.toIntExact(t.numel());
        float[] out = new float[n];
        try {
            switch (t.dtype()) {
                case F32 -> b.asFloatBuffer().get(out);
                case F64 -> { for (int i = 0; i < n; i++) out[i] = (float) b.getDouble(i * 8); }
                case F16 -> { for (int i = 0; i < n; i++) out[i] = Half.toFloat(b.getShort(i * 2)); }
                case BF16 -> { for (int i = 0; i < n; i++) out[i] = Float.intBitsToFloat((b.getShort(i * 2) & 0xFFFF) << 16); }
                default -> throw err(path, "tensor '" + name + "' is " + t.dtype() + ", expected a floating dtype");
            }
        } finally {
            Unmapper.unmap(b);
        }
        return out;
    }

    /** A floating tensor's values as double (F64 exact). */
    public double[] doubles(String name) throws IOException {
        TensorInfo t = info(name);
        if (t.dtype() == DType.F64) {
            double[] out = new double[Math.toIntExact(t.numel())];
            ByteBuffer b = bytes(name);
            try {
                b.asDoubleBuffer().get(out);
            } finally {
                Unmapper.unmap(b);
            }
            return out;
        }
        float[] f = floats(name);
        double[] out = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            out[i] = f[i];
        }
        return out;
    }

    /** An integer tensor's values as long. */
    public long[] longs(String name) throws IOException {
        TensorInfo t = info(name);
        ByteBuffer b = bytes(name);
        int n = Math.toIntExact(t.numel());
        long[] out = new long[n];
        try {
            switch (t.dtype()) {
                case I64 -> b.asLongBuffer().get(out);
                case I32 -> { for (int i = 0; i < n; i++) out[i] = b.getInt(i * 4); }
                case I8, BOOL -> { for (int i = 0; i < n; i++) out[i] = b.get(i); }
                case U8 -> { for (int i = 0; i < n; i++) out[i] = b.get(i) & 0xFF; }
                default -> throw err(path, "tensor '" + name + "' is " + t.dtype() + ", expected an integer dtype");
            }
        } finally {
            Unmapper.unmap(b);
        }
        return out;
    }

    /** Loads a tensor into engine memory in its natural type (BF16 widened to F32). */
    public NDArray load(String name, NDManager manager) throws IOException {
        return load(name, manager, null);
    }

    /**
     * Loads a tensor as an engine-owned array, converting floating data to {@code target} when it is not
     * null. The result never shares memory with the file: the engine's same-type {@code toType(t, true)} is
     * not a copy in DJL 0.36 (its JNI calls {@code Tensor.to(device, dtype)}, which returns the tensor itself),
     * so the mapped view is cloned, or converted, and the window is unmapped before this returns (not left to the GC). The array
     * stays valid after {@link #close()} and in-place ops on it are safe. It is left unnamed: DJL passes arrays
     * whose names contain dots to TorchScript methods as dictionary arguments.
     */
    public NDArray load(String name, NDManager manager, DataType target) throws IOException {
        TensorInfo t = info(name);
        Shape shape = new Shape(t.shape());
        DataType natural = t.dtype().engineType();
        DataType want = target != null && t.dtype().isFloating() ? target : natural;
        NDArray out;
        if (t.dtype() == DType.BF16) {
            try (NDArray widened = manager.create(floats(name), shape)) {
                out = want == DataType.FLOAT32 ? widened.duplicate() : widened.toType(want, false);
            }
        } else if (t.numel() == 0) {
            out = manager.zeros(shape, want);
        } else {
            ByteBuffer window = bytes(name);
            try (NDManager tmp = manager.newSubManager()) {
                // [numel] bytes of the file, zero-copy: valid only while `mapped` and its buffer live
                NDArray mapped = tmp.create(window, shape, natural);
                out = want == natural ? mapped.duplicate() : mapped.toType(want, false);
                out.attach(manager);
            }
            // the copy is engine-owned and `mapped` is closed: unmap now, or the pages read stay resident until a GC
            Unmapper.unmap(window);
        }
        return out;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
