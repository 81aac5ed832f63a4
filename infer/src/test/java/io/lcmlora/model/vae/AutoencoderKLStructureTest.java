package io.lcmlora.model.vae;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.io.SafeTensorsWriter;
import io.lcmlora.io.TensorInfo;
import io.lcmlora.nn.Weights;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Parameter names, shapes and counts; config parsing; loader errors. */
class AutoencoderKLStructureTest {
    static final Path DIR = Path.of(System.getProperty("golden.dir"), "vae");

    /**
     * 83,653,863 parameters in 248 tensors: computed independently from the diffusers architecture (conv/GroupNorm/
     * linear sizes summed by hand for block_out_channels [128, 256, 512, 512], 2 layers per block, 4 latents); it is
     * also the size commonly quoted for the SD/SDXL VAE.
     */
    @Test
    void sdxlParameterCount() {
        try (NDManager m = NDManager.newBaseManager()) {
            Weights vb = Weights.shapesOnly(m);
            new AutoencoderKL(vb, AutoencoderKLConfig.sdxl());
            assertEquals(83_653_863L, vb.parameterCount());
            Map<String, long[]> req = vb.requested();
            assertEquals(248, req.size());
            assertArrayEquals(new long[] {512, 512}, req.get("encoder.mid_block.attentions.0.to_q.weight"));
            assertArrayEquals(new long[] {512}, req.get("decoder.mid_block.attentions.0.group_norm.bias"));
            assertArrayEquals(new long[] {128, 256, 1, 1}, req.get("decoder.up_blocks.3.resnets.0.conv_shortcut.weight"));
            assertArrayEquals(new long[] {128, 128, 3, 3}, req.get("encoder.down_blocks.0.downsamplers.0.conv.weight"));
            assertArrayEquals(new long[] {512, 512, 3, 3}, req.get("decoder.up_blocks.0.upsamplers.0.conv.weight"));
            assertArrayEquals(new long[] {8, 512, 3, 3}, req.get("encoder.conv_out.weight"));
            assertArrayEquals(new long[] {8, 8, 1, 1}, req.get("quant_conv.weight"));
            assertArrayEquals(new long[] {4, 4, 1, 1}, req.get("post_quant_conv.weight"));
            assertTrue(req.containsKey("decoder.up_blocks.3.resnets.2.conv2.weight")); // 3 resnets per decoder block
            assertTrue(!req.containsKey("encoder.down_blocks.3.downsamplers.0.conv.weight"));
        }
    }

    @Test
    void tinyParameterNamesAndShapesMatchTheFileBothWays() throws IOException {
        try (NDManager m = NDManager.newBaseManager();
                SafeTensorsFile f = SafeTensorsFile.open(DIR.resolve("diffusion_pytorch_model.safetensors"))) {
            Weights vb = Weights.shapesOnly(m);
            new AutoencoderKL(vb, AutoencoderKLConfig.tiny());
            assertEquals(new TreeSet<>(f.tensors().keySet()), new TreeSet<>(vb.requested().keySet()));
            for (TensorInfo t : f.tensors().values()) {
                assertArrayEquals(t.shape(), vb.requested().get(t.name()), t.name());
            }
        }
    }

    @Test
    void configJsonReadsToTheTinyPreset() throws IOException {
        assertEquals(AutoencoderKLConfig.tiny(), AutoencoderKLConfig.read(DIR.resolve("config.json")));
        assertEquals(8, AutoencoderKLConfig.sdxl().downscale());
        assertEquals(4, AutoencoderKLConfig.tiny().downscale());
    }

    @Test
    void missingConfigFieldIsNamed(@TempDir Path tmp) throws IOException {
        String json = Files.readString(DIR.resolve("config.json")).replace("\"latent_channels\": 4,", "");
        Files.writeString(tmp.resolve("config.json"), json);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AutoencoderKLConfig.read(tmp.resolve("config.json")));
        assertTrue(e.getMessage().contains("'latent_channels'") && e.getMessage().contains("missing"), e.getMessage());

        Files.writeString(tmp.resolve("config.json"), Files.readString(DIR.resolve("config.json"))
                .replaceFirst("\"UpDecoderBlock2D\"", "\"AttnUpDecoderBlock2D\""));
        e = assertThrows(IllegalArgumentException.class, () -> AutoencoderKLConfig.read(tmp.resolve("config.json")));
        assertTrue(e.getMessage().contains("'up_block_types'"), e.getMessage());
    }

    @Test
    void pipelineFolderIsSearchedForVae(@TempDir Path tmp) throws IOException {
        Path vae = Files.createDirectories(tmp.resolve("vae"));
        for (String f : List.of("config.json", "diffusion_pytorch_model.safetensors")) {
            Files.copy(DIR.resolve(f), vae.resolve(f));
        }
        Files.writeString(tmp.resolve("model_index.json"), "{}");
        try (NDManager m = NDManager.newBaseManager()) {
            assertEquals(AutoencoderKLConfig.tiny(), AutoencoderKL.load(tmp, m, DataType.FLOAT32).config());
            IOException e = assertThrows(IOException.class, () -> AutoencoderKL.load(vae.resolve("none"), m, DataType.FLOAT32));
            assertTrue(e.getMessage().contains("vae/config.json"), e.getMessage());
        }
    }

    @Test
    void missingAndExtraTensorsAreNamed(@TempDir Path tmp) throws IOException {
        try (NDManager m = NDManager.newBaseManager();
                SafeTensorsFile f = SafeTensorsFile.open(DIR.resolve("diffusion_pytorch_model.safetensors"))) {
            Files.copy(DIR.resolve("config.json"), tmp.resolve("config.json"));
            Path weights = tmp.resolve("diffusion_pytorch_model.safetensors");

            SafeTensorsWriter missing = new SafeTensorsWriter();
            for (String k : f.tensors().keySet()) {
                if (!k.equals("decoder.mid_block.attentions.0.to_k.bias")) {
                    missing.add(k, f.load(k, m));
                }
            }
            missing.write(weights);
            Weights.WeightsException e = assertThrows(Weights.WeightsException.class,
                    () -> AutoencoderKL.load(tmp, m, DataType.FLOAT32));
            assertTrue(e.getMessage().contains("decoder.mid_block.attentions.0.to_k.bias"), e.getMessage());

            SafeTensorsWriter extra = new SafeTensorsWriter();
            for (String k : f.tensors().keySet()) {
                extra.add(k, f.load(k, m));
            }
            NDArray stray = m.zeros(new ai.djl.ndarray.types.Shape(3));
            extra.add("decoder.mid_block.attentions.0.query.weight", stray);
            extra.write(weights);
            e = assertThrows(Weights.WeightsException.class, () -> AutoencoderKL.load(tmp, m, DataType.FLOAT32));
            assertTrue(e.getMessage().contains("decoder.mid_block.attentions.0.query.weight"), e.getMessage());
        }
    }
}
