package io.lcmlora.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import com.google.gson.stream.JsonWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Builds a safetensors file in memory order and writes it atomically (temp file in the target folder, then
 * rename): a crash never leaves a half-written file under the final name. Offsets are 64-bit and the header
 * is padded to 8 bytes.
 */
public final class SafeTensorsWriter {
    private record Entry(String name, DType dtype, long[] shape, ByteBuffer data) {}

    private final List<Entry> entries = new ArrayList<>();
    private final Set<String> names = new HashSet<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    public SafeTensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    public SafeTensorsWriter metadata(Map<String, String> values) {
        metadata.putAll(values);
        return this;
    }

    /** Adds raw little-endian bytes of the given dtype and shape. */
    public SafeTensorsWriter add(String name, DType dtype, long[] shape, ByteBuffer littleEndianData) {
        if (name.equals("__metadata__")) {
            throw new IllegalArgumentException("'__metadata__' is reserved");
        }
        long bytes = byteSize(name, dtype, shape);
        if (bytes != littleEndianData.remaining()) {
            throw new IllegalArgumentException("tensor '" + name + "': shape " + Arrays.toString(shape) + " of " + dtype
                    + " needs " + bytes + " bytes, got " + littleEndianData.remaining());
        }
        if (!names.add(name)) {
            throw new IllegalArgumentException("duplicate tensor name '" + name + "'");
        }
        entries.add(new Entry(name, dtype, shape.clone(), littleEndianData.duplicate().order(ByteOrder.LITTLE_ENDIAN)));
        return this;
    }

    private static long byteSize(String name, DType dtype, long[] shape) {
        long n = dtype.size();
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("tensor '" + name + "': negative dimension in shape " + Arrays.toString(shape));
            }
            try {
                n = Math.multiplyExact(n, d);
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException("tensor '" + name + "': shape " + Arrays.toString(shape) + " overflows");
            }
        }
        return n;
    }

    /** Adds an engine array in its own dtype (the data is copied to the host now). */
    public SafeTensorsWriter add(String name, NDArray array) {
        return add(name, DType.of(array.getDataType()), array.getShape().getShape(), array.toByteBuffer());
    }

    /** Adds an engine array stored as {@code dtype}; floating arrays are converted, BF16 rounded to nearest even. */
    public SafeTensorsWriter add(String name, NDArray array, DType dtype) {
        if (dtype == DType.BF16) {
            float[] values;
            if (array.getDataType() == DataType.FLOAT32) {
                values = array.toFloatArray();
            } else {
                try (NDArray f32 = array.toType(DataType.FLOAT32, false)) {
                    values = f32.toFloatArray();
                }
            }
            return addFloats(name, array.getShape().getShape(), values, DType.BF16);
        }
        if (DType.of(array.getDataType()) == dtype) {
            return add(name, array);
        }
        try (NDArray cast = array.toType(dtype.engineType(), false)) {
            return add(name, dtype, array.getShape().getShape(), copy(cast.toByteBuffer()));
        }
    }

    /** Adds float values stored as F32, F16, BF16 or F64. */
    public SafeTensorsWriter addFloats(String name, long[] shape, float[] values, DType dtype) {
        ByteBuffer b = ByteBuffer.allocate(values.length * dtype.size()).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            switch (dtype) {
                case F32 -> b.putFloat(v);
                case F64 -> b.putDouble(v);
                case F16 -> b.putShort(Half.fromFloat(v));
                case BF16 -> b.putShort(toBf16(v));
                default -> throw new IllegalArgumentException("tensor '" + name + "': " + dtype + " is not a float dtype");
            }
        }
        return add(name, dtype, shape, b.flip());
    }

    public SafeTensorsWriter addDoubles(String name, long[] shape, double[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (double v : values) {
            b.putDouble(v);
        }
        return add(name, DType.F64, shape, b.flip());
    }

    public SafeTensorsWriter addLongs(String name, long[] shape, long[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            b.putLong(v);
        }
        return add(name, DType.I64, shape, b.flip());
    }

    /** Round-to-nearest-even float32 -> bfloat16 (NaN stays NaN). */
    static short toBf16(float v) {
        int bits = Float.floatToRawIntBits(v);
        if (Float.isNaN(v)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    private static ByteBuffer copy(ByteBuffer b) {
        ByteBuffer c = ByteBuffer.allocate(b.remaining()).order(ByteOrder.LITTLE_ENDIAN);
        c.put(b.duplicate());
        return c.flip();
    }

    byte[] header() throws IOException {
        StringWriter sw = new StringWriter();
        try (JsonWriter w = new JsonWriter(sw)) {
            w.beginObject();
            if (!metadata.isEmpty()) {
                w.name("__metadata__").beginObject();
                for (var e : metadata.entrySet()) {
                    w.name(e.getKey()).value(e.getValue());
                }
                w.endObject();
            }
            long offset = 0;
            for (Entry e : entries) {
                long n = e.data.remaining();
                w.name(e.name).beginObject();
                w.name("dtype").value(e.dtype.name());
                w.name("shape").beginArray();
                for (long d : e.shape) {
                    w.value(d);
                }
                w.endArray();
                w.name("data_offsets").beginArray().value(offset).value(offset + n).endArray();
                w.endObject();
                offset += n;
            }
            w.endObject();
        }
        byte[] json = sw.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        byte[] out = new byte[padded];
        System.arraycopy(json, 0, out, 0, json.length);
        for (int i = json.length; i < padded; i++) {
            out[i] = ' ';
        }
        return out;
    }

    /** Writes the whole file to a stream. */
    public void write(OutputStream os) throws IOException {
        byte[] header = header();
        ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length);
        os.write(len.array());
        os.write(header);
        WritableByteChannel ch = Channels.newChannel(os);
        for (Entry e : entries) {
            ByteBuffer d = e.data.duplicate();
            while (d.hasRemaining()) {
                ch.write(d);
            }
        }
        os.flush();
    }

    /** Writes atomically to {@code path}. */
    public void write(Path path) throws IOException {
        AtomicFiles.write(path, this::write);
    }
}
