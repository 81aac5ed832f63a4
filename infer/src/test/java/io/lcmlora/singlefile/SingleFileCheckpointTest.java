package io.lcmlora.singlefile;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.lcmlora.io.ModelWeights;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.model.clip.CLIPTextModel;
import io.lcmlora.model.clip.CLIPTextModelWithProjection;
import io.lcmlora.model.clip.ClipTextOutput;
import io.lcmlora.model.unet.UNet2DConditionModel;
import io.lcmlora.model.vae.AutoencoderKL;
import io.lcmlora.model.vae.DiagonalGaussianDistribution;
import io.lcmlora.nn.Weights;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The golden single file (testdata/golden/single_file) against the golden diffusers folders and outputs. */
class SingleFileCheckpointTest {
    static final Path GOLDEN = Path.of(System.getProperty("golden.dir"));
    static final Path FILE = GOLDEN.resolve("single_file/model.safetensors");
    static final double TOL = 1e-4;
    static NDManager manager;
    static SingleFileCheckpoint ckpt;
    static SafeTensorsFile cases;

    @BeforeAll
    static void open() throws IOException {
        manager = NDManager.newBaseManager();
        ckpt = SingleFileCheckpoint.open(FILE);
        cases = SafeTensorsFile.open(GOLDEN.resolve("single_file/cases.safetensors"));
    }

    @AfterAll
    static void close() throws IOException {
        cases.close();
        ckpt.close();
        manager.close();
    }

    static void assertClose(NDArray got, String goldenName) throws IOException {
        assertArrayEquals(cases.info(goldenName).shape(), got.getShape().getShape(), goldenName + " shape");
        float[] want = cases.floats(goldenName);
        float[] g = got.toType(DataType.FLOAT32, false).toFloatArray();
        double err = 0;
        for (int i = 0; i < want.length; i++) {
            err = Math.max(err, Math.abs(g[i] - want[i]));
        }
        System.out.printf("single-file parity %-24s max abs %.3g%n", goldenName, err);
        assertTrue(err <= TOL, goldenName + ": max abs " + err);
    }

    /** The converted tensors equal the diffusers folder's, bit for bit, under the same key set. */
    static void assertBitIdentical(Map<String, NDArray> converted, Path folder) throws IOException {
        try (NDManager m = manager.newSubManager()) {
            Map<String, NDArray> want = ModelWeights.load(folder, null, m, DataType.FLOAT32);
            want.keySet().removeAll(Set.of("text_model.embeddings.position_ids"));
            assertEquals(want.keySet(), converted.keySet(), folder + " key set");
            for (Map.Entry<String, NDArray> e : want.entrySet()) {
                NDArray got = converted.get(e.getKey());
                assertArrayEquals(e.getValue().getShape().getShape(), got.getShape().getShape(), e.getKey());
                float[] w = e.getValue().toFloatArray();
                float[] g = got.toFloatArray();
                for (int i = 0; i < w.length; i++) {
                    if (Float.floatToRawIntBits(w[i]) != Float.floatToRawIntBits(g[i])) {
                        throw new AssertionError(e.getKey() + "[" + i + "]: " + g[i] + " != " + w[i]);
                    }
                }
            }
            System.out.printf("single-file %s: %d tensors bit-identical%n", folder.getFileName(), want.size());
        }
    }

    @Test
    void layoutAndKeyCountsPerPrefix() {
        assertEquals(Set.of(Component.values()), ckpt.components());
        assertEquals(620, ckpt.keys(Component.UNET).size());
        assertEquals(200, ckpt.keys(Component.VAE).size());
        assertEquals(85, ckpt.keys(Component.TEXT_ENCODER).size());
        assertEquals(54, ckpt.keys(Component.TEXT_ENCODER_2).size());
        assertEquals(0, ckpt.otherKeys().size());
        ckpt.requireComplete();
    }

    @Test
    void configsPickTheTinyPresetFromShapes() {
        assertEquals(SingleFileConfigs.tiny(), ckpt.configs());
    }

    /** Converts component {@code c} with the tiny configs and compares it with the golden {@code folder}. */
    static void assertConvertsToFolder(Component c, Function<Weights, ?> model, String folder) throws IOException {
        try (NDManager m = manager.newSubManager()) {
            assertBitIdentical(ckpt.convert(c, SingleFileConfigs.tiny(), SingleFileCheckpoint.parameterShapes(model), m,
                    DataType.FLOAT32), GOLDEN.resolve(folder));
        }
    }

    @Test
    void everyComponentEqualsItsDiffusersFolderBitForBit() throws IOException {
        SingleFileConfigs tiny = SingleFileConfigs.tiny();
        assertConvertsToFolder(Component.UNET, vb -> new UNet2DConditionModel(vb, tiny.unet()), "unet");
        assertConvertsToFolder(Component.VAE, vb -> new AutoencoderKL(vb, tiny.vae()), "vae");
        assertConvertsToFolder(Component.TEXT_ENCODER, vb -> new CLIPTextModel(vb, tiny.textEncoder()), "text_encoders/text_encoder");
        assertConvertsToFolder(Component.TEXT_ENCODER_2, vb -> new CLIPTextModelWithProjection(vb, tiny.textEncoder2()),
                "text_encoders/text_encoder_2");
    }

    @Test
    void vaeOutputsMatchGolden() throws IOException {
        try (NDManager m = manager.newSubManager(); SafeTensorsFile in = SafeTensorsFile.open(GOLDEN.resolve("vae/cases.safetensors"))) {
            AutoencoderKL vae = ckpt.vae(SingleFileConfigs.tiny(), m, DataType.FLOAT32);
            DiagonalGaussianDistribution dist = vae.encode(in.load("image", m));
            assertClose(dist.mean().concat(dist.logvar(), 1), "vae_moments"); // [B, 2C, h, w]
            assertClose(dist.sample(in.load("sample_eps", m)), "vae_latent_sample");
            assertClose(vae.decode(in.load("decode_in", m)), "vae_decode_out");
        }
    }

    @Test
    void configsFromADiffusersFolderEqualTheTinyPreset(@TempDir Path dir) throws IOException {
        Map<String, String> sources = Map.of("unet", "unet", "vae", "vae", "text_encoder", "text_encoders/text_encoder",
                "text_encoder_2", "text_encoders/text_encoder_2");
        for (Map.Entry<String, String> e : sources.entrySet()) {
            Files.createDirectories(dir.resolve(e.getKey()));
            Files.copy(GOLDEN.resolve(e.getValue()).resolve("config.json"), dir.resolve(e.getKey()).resolve("config.json"));
        }
        SingleFileConfigs read = SingleFileConfigs.fromDir(dir);
        SingleFileConfigs tiny = SingleFileConfigs.tiny();
        assertEquals(tiny.unet(), read.unet());
        assertEquals(tiny.vae().blockOutChannels(), read.vae().blockOutChannels());
        assertEquals(tiny.vae().normNumGroups(), read.vae().normNumGroups());
        assertEquals(tiny.textEncoder(), read.textEncoder());
        assertEquals(tiny.textEncoder2(), read.textEncoder2());
        for (Component c : Component.values()) {
            ckpt.plan(c, read);
        }
        Files.delete(dir.resolve("vae/config.json"));
        SingleFileConfigs noVae = SingleFileConfigs.fromDir(dir);
        SingleFileException e = assertThrows(SingleFileException.class, () -> ckpt.plan(Component.VAE, noVae));
        assertTrue(e.getMessage().contains("no vae/config.json"), e.getMessage());
    }

    @Test
    void unetOutputsMatchGolden() throws IOException {
        Path unetCases = GOLDEN.resolve("unet/cases.safetensors");
        try (NDManager m = manager.newSubManager(); SafeTensorsFile in = SafeTensorsFile.open(unetCases)) {
            UNet2DConditionModel unet = ckpt.unet(SingleFileConfigs.tiny(), m, DataType.FLOAT32);
            for (String c : new String[] {"a", "b"}) {
                double[] t = java.util.Arrays.stream(in.longs(c + "_timestep")).asDoubleStream().toArray();
                NDArray out = unet.forward(new UNet2DConditionModel.Inputs(in.load(c + "_sample", m), t,
                        in.load(c + "_encoder_hidden_states", m), in.load(c + "_text_embeds", m), in.load(c + "_time_ids", m)));
                assertClose(out, "unet_" + c + "_out");
            }
        }
    }

    @Test
    void textEncoderOutputsMatchGolden() throws IOException {
        try (NDManager m = manager.newSubManager();
                SafeTensorsFile in = SafeTensorsFile.open(GOLDEN.resolve("text_encoders/cases.safetensors"))) {
            ClipTextOutput o1 = ckpt.textEncoder(SingleFileConfigs.tiny(), m, DataType.FLOAT32).forward(in.load("input_ids_1", m));
            assertClose(o1.lastHiddenState(), "te1_last_hidden_state");
            assertClose(o1.pooledOutput(), "te1_pooler_output");
            assertClose(o1.penultimate(), "te1_penultimate");
            ClipTextOutput o2 = ckpt.textEncoder2(SingleFileConfigs.tiny(), m, DataType.FLOAT32).forward(in.load("input_ids_2", m));
            assertClose(o2.lastHiddenState(), "te2_last_hidden_state");
            assertClose(o2.textEmbeds(), "te2_text_embeds");
            assertClose(o2.penultimate(), "te2_penultimate");
        }
    }

    @Test
    void sdxlPresetMismatchNamesKeysShapesAndTheWayOut() {
        SingleFileException e = assertThrows(SingleFileException.class, () -> ckpt.plan(Component.UNET, SingleFileConfigs.sdxl()));
        String msg = e.getMessage();
        assertTrue(msg.contains("does not match the sdxl preset"), msg);
        assertTrue(msg.contains("model.diffusion_model.input_blocks.0.0.weight has shape [16, 4, 3, 3], the unet expects [320, 4, 3, 3]"), msg);
        assertTrue(msg.contains("--config-from DIR"), msg);
        SingleFileException te2 = assertThrows(SingleFileException.class,
                () -> ckpt.plan(Component.TEXT_ENCODER_2, SingleFileConfigs.sdxl()));
        assertTrue(te2.getMessage().contains("in_proj_weight has shape [96, 32], the text_encoder_2 expects [3840, 1280] (q/k/v fused)"),
                te2.getMessage());
    }
}
