package io.lcmlora.model.clip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.lcmlora.io.ModelWeights;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.nn.Weights;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClipTextModelTest {
    static final Path DIR = Path.of(System.getProperty("golden.dir"), "text_encoders");
    static final double TOL = 1e-4;
    static NDManager manager;
    static SafeTensorsFile cases;

    @BeforeAll
    static void open() throws IOException {
        manager = NDManager.newBaseManager();
        cases = SafeTensorsFile.open(DIR.resolve("cases.safetensors"));
    }

    @AfterAll
    static void close() throws IOException {
        cases.close();
        manager.close();
    }

    /** Max |a - golden| over the whole tensor, shapes checked. */
    static double maxAbs(NDArray a, SafeTensorsFile f, String name) throws IOException {
        assertArrayEquals(f.info(name).shape(), a.getShape().getShape(), name + " shape");
        float[] want = f.floats(name);
        float[] got = a.toType(DataType.FLOAT32, false).toFloatArray();
        double m = 0;
        for (int i = 0; i < want.length; i++) {
            m = Math.max(m, Math.abs(got[i] - want[i]));
        }
        return m;
    }

    static void assertClose(NDArray a, SafeTensorsFile f, String name) throws IOException {
        double err = maxAbs(a, f, name);
        System.out.printf("parity %-40s max abs %.3g%n", name, err);
        assertTrue(err <= TOL, name + ": max abs " + err);
    }

    @Test
    void textEncoderMatchesGolden() throws IOException {
        ClipTextEncoder te = ClipTextEncoder.load(DIR.resolve("text_encoder"), manager, DataType.FLOAT32, null,
                ClipTextEncoder.Projection.AUTO);
        assertInstanceOf(CLIPTextModel.class, te);
        assertEquals(ClipTextConfig.tinyTextEncoder(), te.config());
        try (NDManager m = manager.newSubManager()) {
            NDArray ids = cases.load("input_ids_1", m);
            ClipTextOutput out = te.forward(ids);
            assertClose(out.lastHiddenState(), cases, "te1_last_hidden_state");
            assertClose(out.pooledOutput(), cases, "te1_pooler_output");
            assertClose(out.stackedHiddenStates(), cases, "te1_hidden_states");
            assertClose(out.penultimate(), cases, "te1_penultimate");
            assertEquals(null, out.textEmbeds());
            int[] idx = CLIPTextTransformer.poolingIndex(cases.longs("input_ids_1"), 2, 77, 2);
            long[] want = cases.longs("pooled_index");
            assertEquals(want[0], idx[0]);
            assertEquals(want[1], idx[1]);
        }
    }

    @Test
    void textEncoder2MatchesGolden() throws IOException {
        ClipTextEncoder te = ClipTextEncoder.load(DIR.resolve("text_encoder_2"), manager, DataType.FLOAT32, null,
                ClipTextEncoder.Projection.AUTO);
        assertInstanceOf(CLIPTextModelWithProjection.class, te);
        assertEquals(ClipTextConfig.tinyTextEncoder2(), te.config());
        try (NDManager m = manager.newSubManager()) {
            ClipTextOutput out = te.forward(cases.load("input_ids_2", m));
            assertClose(out.lastHiddenState(), cases, "te2_last_hidden_state");
            assertClose(out.textEmbeds(), cases, "te2_text_embeds");
            assertClose(out.stackedHiddenStates(), cases, "te2_hidden_states");
            assertClose(out.penultimate(), cases, "te2_penultimate");
            // hidden_states[-1] is the last layer's output before final_layer_norm: not last_hidden_state
            assertTrue(out.hiddenState(-1).sub(out.lastHiddenState()).abs().max().getFloat() > 1e-2f);
        }
    }

    @Test
    void firstEosRuleWhenEosIsNotTwo() {
        long[] ids = {5, 9, 7, 9, 9, /* row 2: no eos */ 1, 2, 3, 4, 5};
        assertArrayEquals(new int[] {1, 0}, CLIPTextTransformer.poolingIndex(ids, 2, 5, 9));
        // legacy rule: first position of the largest id
        assertArrayEquals(new int[] {1, 4}, CLIPTextTransformer.poolingIndex(ids, 2, 5, 2));
    }

    @Test
    void positionIdsBufferIsAcceptedAndStrayKeysAreNot() throws IOException {
        Path dir = DIR.resolve("text_encoder");
        try (NDManager m = manager.newSubManager()) {
            Map<String, NDArray> tensors = new LinkedHashMap<>(ModelWeights.load(dir, null, m, DataType.FLOAT32));
            tensors.put("text_model.embeddings.position_ids", m.arange(0L, 77L).reshape(1, 77));
            Weights vb = Weights.of(m, tensors, "test");
            new CLIPTextModel(vb, ClipTextConfig.tinyTextEncoder());
            vb.checkAllUsed(ClipTextEncoder.IGNORED_KEYS);

            tensors.put("text_projection.weight", m.zeros(new Shape(32, 32)));
            Weights vb2 = Weights.of(m, tensors, "test");
            new CLIPTextModel(vb2, ClipTextConfig.tinyTextEncoder());
            var e = assertThrows(Weights.WeightsException.class, () -> vb2.checkAllUsed(ClipTextEncoder.IGNORED_KEYS));
            assertTrue(e.getMessage().contains("text_projection.weight"), e.getMessage());

            tensors.remove("text_model.final_layer_norm.bias");
            var e2 = assertThrows(Weights.WeightsException.class,
                    () -> new CLIPTextModel(Weights.of(m, tensors, "test"), ClipTextConfig.tinyTextEncoder()));
            assertTrue(e2.getMessage().contains("text_model.final_layer_norm.bias"), e2.getMessage());
        }
    }

    @Test
    void projectionMismatchFailsToLoad() {
        var e = assertThrows(Weights.WeightsException.class,
                () -> CLIPTextModelWithProjection.load(DIR.resolve("text_encoder"), manager, DataType.FLOAT32, null));
        assertTrue(e.getMessage().contains("text_projection.weight"), e.getMessage());
    }

    @Test
    void badIdsAreRejected() throws IOException {
        CLIPTextModel te = CLIPTextModel.load(DIR.resolve("text_encoder"), manager, DataType.FLOAT32, null);
        try (NDManager m = manager.newSubManager()) {
            var e = assertThrows(IllegalArgumentException.class,
                    () -> te.forward(ClipTextEncoder.inputIds(m, new int[][] {{998, 1000, 999}})));
            assertTrue(e.getMessage().contains("input_ids[0, 1] = 1000"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> te.forward(m.zeros(new Shape(1, 78), DataType.INT64)));
        }
    }

    @Test
    void configReadsFieldsAndDefaults(@TempDir Path tmp) throws IOException {
        assertEquals(ClipTextConfig.tinyTextEncoder2(), ClipTextConfig.read(DIR.resolve("text_encoder_2/config.json")));
        Path f = tmp.resolve("config.json");
        Files.writeString(f, "{\"hidden_size\": 64, \"num_attention_heads\": 4, \"hidden_act\": \"gelu_new\"}");
        ClipTextConfig c = ClipTextConfig.read(f);
        assertEquals(64, c.hiddenSize());
        assertEquals(49408, c.vocabSize());
        assertEquals(49407, c.eosTokenId());
        assertEquals(ClipTextConfig.HiddenAct.GELU_NEW, c.hiddenAct());
        assertFalse(c.declaresProjection());
        Files.writeString(f, "{\"hidden_act\": \"relu\"}");
        var e = assertThrows(IllegalArgumentException.class, () -> ClipTextConfig.read(f));
        assertTrue(e.getMessage().contains("hidden_act") && e.getMessage().contains(f.toString()), e.getMessage());
        Files.writeString(f, "{\"hidden_size\": 30, \"num_attention_heads\": 4}");
        var e2 = assertThrows(IllegalArgumentException.class, () -> ClipTextConfig.read(f));
        assertTrue(e2.getMessage().startsWith(f.toString()), e2.getMessage());
    }

    /** Closed-form count of a CLIP text tower (optionally with the bias-free projection). */
    static long expectedParams(ClipTextConfig c, boolean projection) {
        long d = c.hiddenSize();
        long i = c.intermediateSize();
        long attn = 4 * (d * d + d);
        long mlp = d * i + i + i * d + d;
        long norms = 2 * 2 * d;
        long embeddings = (long) c.vocabSize() * d + (long) c.maxPositionEmbeddings() * d;
        return embeddings + c.numHiddenLayers() * (attn + mlp + norms) + 2 * d + (projection ? d * c.projectionDim() : 0);
    }

    @Test
    void sdxlParameterCounts() {
        try (NDManager m = manager.newSubManager()) {
            Weights vb = Weights.shapesOnly(m);
            new CLIPTextModel(vb, ClipTextConfig.sdxlTextEncoder());
            assertEquals(123_060_480L, vb.parameterCount());
            assertEquals(expectedParams(ClipTextConfig.sdxlTextEncoder(), false), vb.parameterCount());
            Weights vb2 = Weights.shapesOnly(m);
            new CLIPTextModelWithProjection(vb2, ClipTextConfig.sdxlTextEncoder2());
            assertEquals(694_659_840L, vb2.parameterCount());
            assertEquals(expectedParams(ClipTextConfig.sdxlTextEncoder2(), true), vb2.parameterCount());
            assertTrue(vb2.requested().containsKey("text_projection.weight"));
            assertArrayEquals(new long[] {1280, 1280}, vb2.requested().get("text_projection.weight"));
        }
    }
}
