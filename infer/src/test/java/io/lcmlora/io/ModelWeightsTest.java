package io.lcmlora.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelWeightsTest {
    @TempDir
    Path dir;

    private static void st(Path p, DType dt, String... namesAndValues) throws IOException {
        SafeTensorsWriter w = new SafeTensorsWriter();
        for (int i = 0; i < namesAndValues.length; i += 2) {
            w.addFloats(namesAndValues[i], new long[] {1}, new float[] {Float.parseFloat(namesAndValues[i + 1])}, dt);
        }
        w.write(p);
    }

    private static String index(String... namesAndShards) {
        StringBuilder b = new StringBuilder("{\"metadata\":{\"total_size\":8},\"weight_map\":{");
        for (int i = 0; i < namesAndShards.length; i += 2) {
            b.append(i == 0 ? "" : ",").append('"').append(namesAndShards[i]).append("\":\"").append(namesAndShards[i + 1]).append('"');
        }
        return b.append("}}").toString();
    }

    @Test
    void loadsSingleFileConvertingDtype() throws IOException {
        st(dir.resolve("diffusion_pytorch_model.safetensors"), DType.F16, "conv.weight", "0.5", "conv.bias", "-2");
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> w = ModelWeights.load(dir, null, m, DataType.FLOAT32);
            assertEquals(List.of("conv.weight", "conv.bias"), List.copyOf(w.keySet()));
            assertEquals(DataType.FLOAT32, w.get("conv.weight").getDataType());
            assertArrayEquals(new float[] {-2f}, w.get("conv.bias").toFloatArray());
        }
    }

    @Test
    void prefersTheRequestedVariantAndFallsBack() throws IOException {
        st(dir.resolve("diffusion_pytorch_model.safetensors"), DType.F32, "w", "1");
        st(dir.resolve("diffusion_pytorch_model.fp16.safetensors"), DType.F16, "w", "2");
        assertEquals(List.of(dir.resolve("diffusion_pytorch_model.fp16.safetensors")), ModelWeights.files(dir, "fp16"));
        assertEquals(List.of(dir.resolve("diffusion_pytorch_model.safetensors")), ModelWeights.files(dir, null));
        assertEquals(List.of(dir.resolve("diffusion_pytorch_model.safetensors")), ModelWeights.files(dir, "bf16"),
                "a missing variant falls back to the plain weights");
        try (NDManager m = NDManager.newBaseManager()) {
            assertArrayEquals(new float[] {2f}, ModelWeights.load(dir, "fp16", m, DataType.FLOAT32).get("w").toFloatArray());
        }
        Files.delete(dir.resolve("diffusion_pytorch_model.safetensors"));
        IOException e = assertThrows(IOException.class, () -> ModelWeights.files(dir, null));
        assertTrue(e.getMessage().contains("variant fp16"), e.getMessage());
    }

    @Test
    void transformersModelNameWorks() throws IOException {
        st(dir.resolve("model.safetensors"), DType.F32, "text_model.x", "3");
        assertEquals(List.of(dir.resolve("model.safetensors")), ModelWeights.files(dir, null));
    }

    @Test
    void loadsShardedIndexIncludingTheFp16IndexName() throws IOException {
        st(dir.resolve("diffusion_pytorch_model-00001-of-00002.safetensors"), DType.F32, "a", "1", "b", "2");
        st(dir.resolve("diffusion_pytorch_model-00002-of-00002.safetensors"), DType.BF16, "c", "3");
        Files.writeString(dir.resolve("diffusion_pytorch_model.safetensors.index.json"), index(
                "a", "diffusion_pytorch_model-00001-of-00002.safetensors",
                "b", "diffusion_pytorch_model-00001-of-00002.safetensors",
                "c", "diffusion_pytorch_model-00002-of-00002.safetensors"));
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> w = ModelWeights.load(dir, null, m, DataType.FLOAT16);
            assertEquals(List.of("a", "b", "c"), List.copyOf(w.keySet()));
            assertEquals(DataType.FLOAT16, w.get("c").getDataType());
            assertArrayEquals(new float[] {3f}, w.get("c").toType(DataType.FLOAT32, false).toFloatArray());
        }
        Path v = Files.createDirectory(dir.resolve("v"));
        st(v.resolve("diffusion_pytorch_model.fp16-00001-of-00001.safetensors"), DType.F16, "a", "4");
        Files.writeString(v.resolve("diffusion_pytorch_model.safetensors.index.fp16.json"),
                index("a", "diffusion_pytorch_model.fp16-00001-of-00001.safetensors"));
        assertEquals(List.of(v.resolve("diffusion_pytorch_model.fp16-00001-of-00001.safetensors")), ModelWeights.files(v, "fp16"));
    }

    private IOException brokenIndex(String indexJson) throws IOException {
        Path d = Files.createTempDirectory(dir, "idx");
        st(d.resolve("s1.safetensors"), DType.F32, "a", "1");
        st(d.resolve("s2.safetensors"), DType.F32, "a", "1", "b", "2");
        Files.writeString(d.resolve("model.safetensors.index.json"), indexJson);
        try (NDManager m = NDManager.newBaseManager()) {
            IOException e = assertThrows(IOException.class, () -> ModelWeights.load(d, null, m, DataType.FLOAT32));
            assertTrue(e.getMessage().contains(d.toString()), e.getMessage());
            return e;
        }
    }

    @Test
    void rejectsBadIndexes() throws IOException {
        for (String shard : new String[] {"../s1.safetensors", "sub/s1.safetensors", "..\\\\s1.safetensors", "..", "", "C:s1.safetensors"}) {
            IOException e = brokenIndex(index("a", shard));
            assertTrue(e.getMessage().contains("plain file name") && e.getMessage().contains("'a'"), e.getMessage());
        }
        assertTrue(brokenIndex("{\"weight_map\":{\"a\":3}}").getMessage().contains("'a'"));
        assertTrue(brokenIndex("{\"metadata\":{}}").getMessage().contains("weight_map"));
        assertTrue(brokenIndex("{\"weight_map\":{}}").getMessage().contains("empty"));
        IOException e = brokenIndex(index("a", "s1.safetensors", "z", "missing.safetensors"));
        assertTrue(e.getMessage().contains("'missing.safetensors' is missing"), e.getMessage());
        e = brokenIndex(index("a", "s1.safetensors", "b", "s2.safetensors"));
        assertTrue(e.getMessage().contains("s2.safetensors") && e.getMessage().contains("'a'"), e.getMessage());
        e = brokenIndex(index("a", "s2.safetensors", "b", "s2.safetensors", "x", "s1.safetensors"));
        assertTrue(e.getMessage().contains("s1.safetensors") && e.getMessage().contains("'a'")
                && e.getMessage().contains("listed under shard 's2.safetensors'"), e.getMessage());
        e = brokenIndex(index("a", "s1.safetensors", "q", "s1.safetensors"));
        assertTrue(e.getMessage().contains("'q' is in no shard"), e.getMessage());
    }

    @Test
    void missingWeightsIsAClearError() throws IOException {
        Files.writeString(dir.resolve("config.json"), "{}");
        Files.write(dir.resolve("diffusion_pytorch_model.bin"), new byte[] {(byte) 0x80, 2});
        IOException e = assertThrows(IOException.class, () -> ModelWeights.files(dir, null));
        assertTrue(e.getMessage().contains(dir.toString()) && e.getMessage().contains("no weights found")
                && e.getMessage().contains("pickle"), e.getMessage());
        e = assertThrows(IOException.class, () -> ModelWeights.files(dir.resolve("nope"), null));
        assertTrue(e.getMessage().contains("not found"), e.getMessage());
    }
}
