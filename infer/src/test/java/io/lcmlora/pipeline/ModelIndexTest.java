package io.lcmlora.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** model_index.json validation and the --model dispatch (no weights are loaded). */
class ModelIndexTest {
    @TempDir
    Path tmp;

    Path folder(String index) throws IOException {
        for (String c : new String[] {"unet", "vae", "text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2", "scheduler"}) {
            Files.createDirectories(tmp.resolve(c));
        }
        Files.writeString(tmp.resolve("model_index.json"), index);
        return tmp;
    }

    @Test
    void sdxlIndexIsReadWithIgnoredExtrasNoted() throws Exception {
        ModelIndex i = ModelIndex.read(folder(TinySdxlFolder.MODEL_INDEX.replace("\"feature_extractor\": [null, null]",
                "\"feature_extractor\": [\"transformers\", \"CLIPImageProcessor\"]")));
        assertEquals("StableDiffusionXLPipeline", i.pipelineClass());
        assertEquals(7, i.components().size());
        assertTrue(i.forceZerosForEmptyPrompt());
        assertEquals(1, i.notes().size());
        assertTrue(i.notes().get(0).contains("feature_extractor"), i.notes().get(0));
    }

    @Test
    void missingComponentIsNamed() throws Exception {
        Path dir = folder(TinySdxlFolder.MODEL_INDEX.replace("\"text_encoder\": [\"transformers\", \"CLIPTextModel\"],",
                "\"text_encoder\": [null, null],"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelIndex.read(dir));
        assertTrue(e.getMessage().contains("'text_encoder'"), e.getMessage());
    }

    @Test
    void wrongClassAndMissingFolderAreErrors() throws Exception {
        Path dir = folder(TinySdxlFolder.MODEL_INDEX.replace("\"AutoencoderKL\"", "\"AsymmetricAutoencoderKL\""));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelIndex.read(dir));
        assertTrue(e.getMessage().contains("'vae'") && e.getMessage().contains("AutoencoderKL"), e.getMessage());
        Files.writeString(tmp.resolve("model_index.json"), TinySdxlFolder.MODEL_INDEX);
        Files.delete(tmp.resolve("scheduler"));
        IOException io = assertThrows(IOException.class, () -> ModelIndex.read(tmp));
        assertTrue(io.getMessage().contains("scheduler"), io.getMessage());
    }

    @Test
    void notAnSdxlPipeline() throws Exception {
        Path dir = folder(TinySdxlFolder.MODEL_INDEX.replace("StableDiffusionXLPipeline", "StableDiffusionPipeline"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelIndex.read(dir));
        assertTrue(e.getMessage().contains("_class_name"), e.getMessage());
        IOException none = assertThrows(IOException.class, () -> ModelIndex.read(tmp.resolve("unet")));
        assertTrue(none.getMessage().contains("model_index.json"), none.getMessage());
    }

    @Test
    void badModelPathsAreErrors() throws Exception {
        Path f = tmp.resolve("broken.safetensors");
        Files.writeString(f, "x");
        assertThrows(IOException.class, () -> ModelSource.open(f, LoadOptions.cpu()));
        Path ckpt = tmp.resolve("model.ckpt");
        Files.writeString(ckpt, "x");
        IOException pickle = assertThrows(IOException.class, () -> ModelSource.open(ckpt, LoadOptions.cpu()));
        assertTrue(pickle.getMessage().contains("pickle"), pickle.getMessage());
        assertThrows(IOException.class, () -> ModelSource.open(tmp.resolve("absent"), LoadOptions.cpu()));
    }
}
