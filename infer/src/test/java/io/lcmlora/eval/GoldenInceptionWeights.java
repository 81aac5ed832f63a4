package io.lcmlora.eval;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonParser;
import io.lcmlora.io.DType;
import io.lcmlora.io.SafeTensorsWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;

/**
 * The golden set's generated FID-Inception weights (testdata/golden/README.md, section 7 "Weight generator"):
 * per tensor of {@code fid/inception_state_dict_index.json}, seed {@code crc32(name) ^ 20231201}, element i
 * hashed from {@code seed + i * 0x9E3779B9}, {@code u = (x >> 8) / 2^24}, values by parameter kind in float64
 * rounded to float32.
 */
final class GoldenInceptionWeights {
    private GoldenInceptionWeights() {}

    static final int SET_SEED = 20231201;

    /** Names and shapes in state_dict order. */
    static Map<String, long[]> index(Path golden) throws IOException {
        Path file = golden.resolve("fid/inception_state_dict_index.json");
        JsonArray tensors = JsonParser.parseString(Files.readString(file)).getAsJsonObject().getAsJsonArray("tensors");
        Map<String, long[]> out = new LinkedHashMap<>();
        for (JsonElement e : tensors) {
            JsonArray pair = e.getAsJsonArray();
            JsonArray shape = pair.get(1).getAsJsonArray();
            long[] s = new long[shape.size()];
            for (int i = 0; i < s.length; i++) {
                s[i] = shape.get(i).getAsLong();
            }
            out.put(pair.get(0).getAsString(), s);
        }
        return out;
    }

    static double u(int seed, int i) {
        int x = seed + i * 0x9E3779B9;
        x ^= x >>> 16;
        x *= 0x7feb352d;
        x ^= x >>> 15;
        x *= 0x846ca68b;
        x ^= x >>> 16;
        return (x >>> 8) / 16777216.0;
    }

    /** The first {@code count} values of tensor {@code name} with shape {@code shape}. */
    static float[] values(String name, long[] shape, int count) {
        CRC32 crc = new CRC32();
        crc.update(name.getBytes(StandardCharsets.UTF_8));
        int seed = (int) crc.getValue() ^ SET_SEED;
        float[] out = new float[count];
        if (name.endsWith(".conv.weight")) {
            long fanIn = shape[1] * shape[2] * shape[3];
            // Python's round() is half-to-even: Math.rint
            double scale = Math.pow(2, Math.rint(Math.log(Math.sqrt(6.0 / fanIn)) / Math.log(2)));
            for (int i = 0; i < count; i++) {
                out[i] = (float) ((2 * u(seed, i) - 1) * scale);
            }
        } else if (name.endsWith(".bn.weight")) {
            for (int i = 0; i < count; i++) {
                out[i] = (float) (1 + (2 * u(seed, i) - 1) / 4);
            }
        } else if (name.endsWith(".bn.bias") || name.endsWith(".bn.running_mean")) {
            for (int i = 0; i < count; i++) {
                out[i] = (float) ((2 * u(seed, i) - 1) / 8);
            }
        } else if (name.endsWith(".bn.running_var")) {
            for (int i = 0; i < count; i++) {
                out[i] = (float) (0.5 + u(seed, i));
            }
        } else {
            throw new IllegalArgumentException("no generator rule for '" + name + "'");
        }
        return out;
    }

    static int numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return Math.toIntExact(n);
    }

    /** Writes every generated tensor (87 MB of float32) to a safetensors file. */
    static void write(Path golden, Path out) throws IOException {
        SafeTensorsWriter w = new SafeTensorsWriter();
        for (Map.Entry<String, long[]> e : index(golden).entrySet()) {
            float[] v = values(e.getKey(), e.getValue(), numel(e.getValue()));
            ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            b.asFloatBuffer().put(v);
            w.add(e.getKey(), DType.F32, e.getValue(), b);
        }
        w.write(out);
    }
}
