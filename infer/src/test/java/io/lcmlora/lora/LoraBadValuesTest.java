package io.lcmlora.lora;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.lcmlora.io.DType;
import io.lcmlora.io.SafeTensorsWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every bad-value case of a LoRA file is a LoraException naming the file and the key as written in it. */
class LoraBadValuesTest {
    static final LoraKeyMap MAP = LoraKeyMap.of(Map.of(LoraComponent.UNET, List.of("mid.proj")), null);
    static final String STEM = "lora_unet_mid_proj";

    @TempDir
    Path tmp;

    /** Writes {@code w}, reads and loads it, and returns the error message (failing if none was thrown). */
    String error(String name, SafeTensorsWriter w) throws Exception {
        Path p = tmp.resolve(name + ".safetensors");
        w.write(p);
        LoraException e = assertThrows(LoraException.class, () -> {
            try (NDManager m = NDManager.newBaseManager()) {
                LoraFile.load(p, MAP, m, DataType.FLOAT32);
            }
        }, name);
        assertTrue(e.getMessage().contains(name + ".safetensors"), e.getMessage());
        return e.getMessage();
    }

    static SafeTensorsWriter pair(float[] a, float[] b) {
        return new SafeTensorsWriter().addFloats(STEM + ".lora_down.weight", new long[] {2, 3}, a, DType.F32)
                .addFloats(STEM + ".lora_up.weight", new long[] {4, 2}, b, DType.F32);
    }

    static float[] ones(int n) {
        float[] r = new float[n];
        java.util.Arrays.fill(r, 1f);
        return r;
    }

    static SafeTensorsWriter withAlpha(float alpha) {
        return pair(ones(6), ones(8)).addFloats(STEM + ".alpha", new long[0], new float[] {alpha}, DType.F32);
    }

    @Test
    void everyBadValueNamesTheFileAndTheKey() throws Exception {
        float[] nan = ones(6);
        nan[3] = Float.NaN;
        assertTrue(error("nan", pair(nan, ones(8))).contains("'" + STEM + ".lora_down.weight' contains NaN or Inf"));
        float[] inf = ones(8);
        inf[0] = Float.NEGATIVE_INFINITY;
        assertTrue(error("inf", pair(ones(6), inf)).contains("'" + STEM + ".lora_up.weight' contains NaN or Inf"));
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, 0f, -1f}) {
            String msg = error("alpha" + (int) (Float.isNaN(bad) ? 9 : Float.isInfinite(bad) ? 8 : bad + 2), withAlpha(bad));
            assertTrue(msg.contains("'" + STEM + ".alpha'") && msg.contains("finite number > 0"), msg);
        }
        ByteBuffer ints = ByteBuffer.allocate(6 * 8).order(ByteOrder.LITTLE_ENDIAN);
        SafeTensorsWriter integer = new SafeTensorsWriter().add(STEM + ".lora_down.weight", DType.I64, new long[] {2, 3}, ints)
                .addFloats(STEM + ".lora_up.weight", new long[] {4, 2}, ones(8), DType.F32);
        assertTrue(error("integer", integer).contains("'" + STEM + ".lora_down.weight' is I64"));
        SafeTensorsWriter bool = new SafeTensorsWriter().addFloats(STEM + ".lora_down.weight", new long[] {2, 3}, ones(6), DType.F32)
                .add(STEM + ".lora_up.weight", DType.BOOL, new long[] {4, 2}, ByteBuffer.allocate(8));
        assertTrue(error("bool", bool).contains("'" + STEM + ".lora_up.weight' is BOOL"));
        SafeTensorsWriter mismatch = new SafeTensorsWriter().addFloats(STEM + ".lora_down.weight", new long[] {2, 3}, ones(6), DType.F32)
                .addFloats(STEM + ".lora_up.weight", new long[] {4, 3}, ones(12), DType.F32);
        assertTrue(error("rank_mismatch", mismatch).contains("not a LoRA pair"));
        SafeTensorsWriter overflow = new SafeTensorsWriter()
                .add(STEM + ".lora_down.weight", DType.F32, new long[] {1L << 32, 0}, ByteBuffer.allocate(0))
                .addFloats(STEM + ".lora_up.weight", new long[] {4, 2}, ones(8), DType.F32);
        String o = error("overflow", overflow);
        assertTrue(o.contains("'" + STEM + ".lora_down.weight' has shape [4294967296, 0]") && !o.contains("integer overflow"), o);
        // LyCORIS factors go through the same checks
        SafeTensorsWriter loha = new SafeTensorsWriter()
                .addFloats(STEM + ".hada_w1_a", new long[] {4, 2}, ones(8), DType.F32)
                .addFloats(STEM + ".hada_w1_b", new long[] {2, 3}, nan, DType.F32)
                .addFloats(STEM + ".hada_w2_a", new long[] {4, 2}, ones(8), DType.F32)
                .addFloats(STEM + ".hada_w2_b", new long[] {2, 3}, ones(6), DType.F32);
        assertTrue(error("loha_nan", loha).contains("'" + STEM + ".hada_w1_b' contains NaN or Inf"));
        SafeTensorsWriter lohaMissing = new SafeTensorsWriter()
                .addFloats(STEM + ".hada_w1_a", new long[] {4, 2}, ones(8), DType.F32)
                .addFloats(STEM + ".hada_w1_b", new long[] {2, 3}, ones(6), DType.F32);
        assertTrue(error("loha_missing", lohaMissing).contains("no hada_w2_a tensor"));
        // LoCon Tucker: a core that does not sit between down and up
        SafeTensorsWriter mid = new SafeTensorsWriter().addFloats(STEM + ".lora_down.weight", new long[] {2, 3, 1, 1}, ones(6), DType.F32)
                .addFloats(STEM + ".lora_up.weight", new long[] {4, 2, 1, 1}, ones(8), DType.F32)
                .addFloats(STEM + ".lora_mid.weight", new long[] {3, 2, 3, 3}, ones(54), DType.F32);
        String midMsg = error("mid_shape", mid);
        assertTrue(midMsg.contains("'" + STEM + ".lora_mid.weight' has shape [3, 2, 3, 3]") && midMsg.contains("[2, 2, kh, kw]"), midMsg);
        // bias differences: 1-D only, finite
        assertTrue(error("bias_2d", pair(ones(6), ones(8)).addFloats(STEM + ".diff_b", new long[] {4, 1}, ones(4), DType.F32))
                .contains("'" + STEM + ".diff_b' has shape [4, 1], expected a 1-D bias difference"));
        float[] nanBias = ones(4);
        nanBias[2] = Float.NaN;
        assertTrue(error("bias_nan", new SafeTensorsWriter().addFloats(STEM + ".diff_b", new long[] {4}, nanBias, DType.F32))
                .contains("'" + STEM + ".diff_b' contains NaN or Inf"));
    }

    /** A bias difference for a layer without a bias, or of the wrong length, names the file's key at load. */
    @Test
    void biasDifferenceThatDoesNotFitTheLayerNamesTheKey() throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            for (boolean hasBias : new boolean[] {false, true}) {
                io.lcmlora.nn.Weights vb = io.lcmlora.nn.Weights.of(m, Map.of("mid.proj.weight", m.ones(new ai.djl.ndarray.types.Shape(4, 3)),
                        "mid.proj.bias", m.zeros(new ai.djl.ndarray.types.Shape(4))), "test").pp("mid").pp("proj");
                io.lcmlora.nn.Linear layer = new io.lcmlora.nn.Linear(vb, 3, 4, hasBias);
                Path p = tmp.resolve("bias_" + hasBias + ".safetensors");
                new SafeTensorsWriter().addFloats(STEM + ".diff_b", new long[] {hasBias ? 5 : 4}, ones(hasBias ? 5 : 4), DType.F32).write(p);
                Adapters a = new Adapters(LoraComponent.UNET, Map.of("mid.proj", layer));
                LoraWeights w = LoraFile.load(p, MAP, m, DataType.FLOAT32);
                String msg = assertThrows(LoraException.class, () -> a.load(w, "x", 1.0)).getMessage();
                assertTrue(msg.contains(p.toString()) && msg.contains("'" + STEM + ".diff_b'")
                        && msg.contains(hasBias ? "does not fit the layer's bias (4)" : "this layer has none"), msg);
            }
        }
    }
}
