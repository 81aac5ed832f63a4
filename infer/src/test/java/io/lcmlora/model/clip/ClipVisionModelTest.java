package io.lcmlora.model.clip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.lcmlora.io.DType;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.io.SafeTensorsWriter;
import io.lcmlora.io.TensorInfo;
import io.lcmlora.nn.Weights;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * CLIPVisionModelWithProjection against the golden {@code clip_score/} set (transformers 4.36 tiny towers; to
 * regenerate see {@code testdata/golden/clip_score/README.md}).
 */
class ClipVisionModelTest {
    static final Path DIR = Path.of(System.getProperty("golden.dir"), "clip_score");
    static final double TOL = 1e-5;
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

    static void assertClose(NDArray a, String golden) throws IOException {
        assertArrayEquals(cases.info(golden).shape(), a.getShape().getShape(), golden + " shape");
        float[] want = cases.floats(golden);
        float[] got = a.toFloatArray();
        double m = 0;
        for (int i = 0; i < want.length; i++) {
            m = Math.max(m, Math.abs(got[i] - want[i]));
        }
        System.out.printf("parity %-28s max abs %.3g%n", golden, m);
        assertTrue(m <= TOL, golden + ": max abs " + m + " (re-make with the script named in clip_score/README.md)");
    }

    @Test
    void visionTowerMatchesGolden() throws IOException {
        try (CLIPVisionModelWithProjection model = CLIPVisionModelWithProjection.load(DIR.resolve("vision"), manager,
                DataType.FLOAT32, null); NDManager m = manager.newSubManager()) {
            assertEquals(new ClipVisionConfig(32, 64, 24, 2, 4, 3, 32, 8, ClipTextConfig.HiddenAct.QUICK_GELU, 1e-5),
                    model.config());
            assertEquals(17, model.config().numPositions());
            ClipVisionOutput out = model.forward(cases.load("pixel_values", m));
            assertClose(out.lastHiddenState(), "vision_last_hidden_state");
            assertClose(out.penultimate(), "vision_penultimate");
            assertClose(out.imageEmbeds(), "image_embeds");
            assertEquals(3, out.hiddenStates().size());
            assertArrayEquals(new long[] {3, 4, 17, 32}, out.stackedHiddenStates().getShape().getShape());
            var e = assertThrows(IllegalArgumentException.class, () -> model.forward(m.zeros(new ai.djl.ndarray.types.Shape(1, 3, 224, 224))));
            assertTrue(e.getMessage().contains("[batch, 3, 32, 32]"), e.getMessage());
        }
    }

    /** A full CLIPModel folder (both towers, logit_scale, one config) gives both towers unchanged. */
    @Test
    void fullClipModelFolder(@TempDir Path tmp) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("clip"));
        String vision = Files.readString(DIR.resolve("vision/config.json"));
        String text = Files.readString(DIR.resolve("text/config.json"));
        Files.writeString(dir.resolve("config.json"), "{\"architectures\": [\"CLIPModel\"], \"model_type\": \"clip\", "
                + "\"projection_dim\": 24, \"logit_scale_init_value\": 2.6592, \"vision_config\": " + vision
                + ", \"text_config\": " + text + "}");
        SafeTensorsWriter w = new SafeTensorsWriter();
        for (String part : new String[] {"vision", "text"}) {
            try (SafeTensorsFile f = SafeTensorsFile.open(DIR.resolve(part).resolve("model.safetensors"))) {
                for (TensorInfo t : f.tensors().values()) {
                    if (t.dtype() == DType.F32) {
                        w.addFloats(t.name(), t.shape(), f.floats(t.name()), DType.F32);
                    } else {
                        w.addLongs(t.name(), t.shape(), f.longs(t.name()));
                    }
                }
            }
        }
        w.addFloats("logit_scale", new long[0], new float[] {2.6592f}, DType.F32);
        w.write(dir.resolve("model.safetensors"));
        try (CLIPVisionModelWithProjection v = CLIPVisionModelWithProjection.load(dir, manager, DataType.FLOAT32, null);
                NDManager m = manager.newSubManager()) {
            assertEquals(24, v.config().projectionDim());
            assertClose(v.forward(cases.load("pixel_values", m)).imageEmbeds(), "image_embeds");
            CLIPTextModelWithProjection t = CLIPModel.loadTextTower(dir, m, DataType.FLOAT32, null);
            assertClose(t.forward(cases.load("input_ids", m)).textEmbeds(), "text_embeds");
            // a text encoder folder goes through the text loader unchanged
            CLIPTextModelWithProjection t2 = CLIPModel.loadTextTower(DIR.resolve("text"), m, DataType.FLOAT32, null);
            assertClose(t2.forward(cases.load("input_ids", m)).textEmbeds(), "text_embeds");
        }
    }

    /**
     * The published towers' layouts, built shape-only: parameter counts equal OpenCLIP's model profile
     * ({@code image_mparams}: ViT-L-14 303.97 M, ViT-H-14 632.08 M, ViT-g-14 1012.65 M, ViT-bigG-14 1844.91 M).
     */
    @Test
    void publishedLayoutsHaveTheirParameterCounts() {
        Object[][] cases = {
            {ClipVisionConfig.openaiVitL14(), 303.97},
            {ClipVisionConfig.openclipVitH14(), 632.08},
            {ClipVisionConfig.openclipVitG14(), 1012.65},
            {ClipVisionConfig.openclipVitBigG14(), 1844.91},
        };
        try (NDManager m = NDManager.newBaseManager()) {
            for (Object[] c : cases) {
                Weights vb = Weights.shapesOnly(m);
                new CLIPVisionModelWithProjection(vb, (ClipVisionConfig) c[0]);
                double mparams = vb.parameterCount() / 1e6;
                assertEquals((double) c[1], mparams, 0.006, c[0] + " has " + mparams + " M parameters");
                assertTrue(vb.requested().containsKey("vision_model.pre_layrnorm.weight"));
                assertTrue(vb.requested().containsKey("vision_model.encoder.layers.0.self_attn.q_proj.bias"));
            }
        }
    }

    @Test
    void badConfigsNameTheField(@TempDir Path tmp) throws IOException {
        Path f = tmp.resolve("config.json");
        Files.writeString(f, "{\"model_type\": \"clip_text_model\"}");
        var e = assertThrows(IllegalArgumentException.class, () -> ClipVisionConfig.read(f));
        assertTrue(e.getMessage().contains("'model_type'") && e.getMessage().contains("clip_vision_model"), e.getMessage());
        Files.writeString(f, "{\"model_type\": \"clip_vision_model\", \"image_size\": 30, \"patch_size\": 8}");
        e = assertThrows(IllegalArgumentException.class, () -> ClipVisionConfig.read(f));
        assertTrue(e.getMessage().startsWith(f.toString()) && e.getMessage().contains("patch_size"), e.getMessage());
        Files.writeString(f, "{\"model_type\": \"clip\"}");
        e = assertThrows(IllegalArgumentException.class, () -> ClipVisionConfig.read(f));
        assertTrue(e.getMessage().contains("'vision_config'"), e.getMessage());
    }
}
