package io.lcmlora.pipeline;

import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * A diffusers SDXL folder assembled from the golden tiny components: unet/, vae/, text_encoder/, text_encoder_2/
 * (vocab 1000), SDXL's scheduler config, and tokenizers whose ids fit the tiny vocabulary.
 *
 * <p>The tokenizers: the real CLIP vocabulary has 49408 ids, past the tiny encoders' 1000, so the folder gets a
 * byte-level BPE vocabulary with no merges: the 256 byte symbols (ids 0-255, GPT-2 {@code bytes_to_unicode}
 * order, so {@code !} is 0 as in CLIP), the same with {@code </w>} (256-511), {@code <|startoftext|>} = 998 and
 * {@code <|endoftext|>} = 999 (the golden text cases' BOS/EOS framing: EOS is the largest id, which the pooling rule
 * needs). Every word tokenizes to one id per byte. The configs are the golden SDXL tokenizer configs.
 */
public final class TinySdxlFolder {
    static final Path GOLDEN = Path.of(System.getProperty("golden.dir"));
    /** SDXL base 1.0 scheduler/scheduler_config.json. */
    static final String SDXL_SCHEDULER = """
            {"_class_name": "EulerDiscreteScheduler", "_diffusers_version": "0.19.0.dev0", "beta_end": 0.012,
             "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": false, "interpolation_type": "linear",
             "num_train_timesteps": 1000, "prediction_type": "epsilon", "sample_max_value": 1.0, "set_alpha_to_one": false,
             "skip_prk_steps": true, "steps_offset": 1, "timestep_spacing": "leading", "trained_betas": null,
             "use_karras_sigmas": false}
            """;
    static final String MODEL_INDEX = """
            {"_class_name": "StableDiffusionXLPipeline", "_diffusers_version": "0.25.1", "force_zeros_for_empty_prompt": true,
             "add_watermarker": null, "feature_extractor": [null, null], "image_encoder": [null, null],
             "scheduler": ["diffusers", "EulerDiscreteScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
             "text_encoder_2": ["transformers", "CLIPTextModelWithProjection"], "tokenizer": ["transformers", "CLIPTokenizer"],
             "tokenizer_2": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "UNet2DConditionModel"],
             "vae": ["diffusers", "AutoencoderKL"]}
            """;

    private TinySdxlFolder() {}

    /** Writes the folder under {@code dir} and returns it. */
    public static Path create(Path dir) throws IOException {
        Path root = dir.resolve("tiny-sdxl");
        copyDir(GOLDEN.resolve("unet"), root.resolve("unet"));
        copyDir(GOLDEN.resolve("vae"), root.resolve("vae"));
        copyDir(GOLDEN.resolve("text_encoders/text_encoder"), root.resolve("text_encoder"));
        copyDir(GOLDEN.resolve("text_encoders/text_encoder_2"), root.resolve("text_encoder_2"));
        Path tok = GOLDEN.resolve("tokenizer");
        writeTokenizer(root.resolve("tokenizer"), tok.resolve("tokenizer_config.json"), tok.resolve("special_tokens_map.json"));
        writeTokenizer(root.resolve("tokenizer_2"), tok.resolve("tokenizer_2/tokenizer_config.json"),
                tok.resolve("tokenizer_2/special_tokens_map.json"));
        Files.createDirectories(root.resolve("scheduler"));
        Files.writeString(root.resolve("scheduler/scheduler_config.json"), SDXL_SCHEDULER);
        Files.writeString(root.resolve("model_index.json"), MODEL_INDEX);
        return root;
    }

    private static void copyDir(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> files = Files.list(from)) {
            for (Path f : files.toList()) {
                if (Files.isRegularFile(f) && !f.getFileName().toString().equals("cases.safetensors")) {
                    Files.copy(f, to.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    private static void writeTokenizer(Path dir, Path config, Path special) throws IOException {
        Files.createDirectories(dir);
        JsonObject vocab = new JsonObject();
        List<String> symbols = byteSymbols();
        for (int i = 0; i < 256; i++) {
            vocab.addProperty(symbols.get(i), i);
        }
        for (int i = 0; i < 256; i++) {
            vocab.addProperty(symbols.get(i) + "</w>", 256 + i);
        }
        vocab.addProperty("<|startoftext|>", 998);
        vocab.addProperty("<|endoftext|>", 999);
        Files.writeString(dir.resolve("vocab.json"), vocab.toString(), StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\n");
        Files.copy(config, dir.resolve("tokenizer_config.json"), StandardCopyOption.REPLACE_EXISTING);
        Files.copy(special, dir.resolve("special_tokens_map.json"), StandardCopyOption.REPLACE_EXISTING);
    }

    /** GPT-2's bytes_to_unicode characters in its order: printable bytes first, then the rest from U+0100. */
    static List<String> byteSymbols() {
        List<Integer> bs = new ArrayList<>();
        for (int b = '!'; b <= '~'; b++) {
            bs.add(b);
        }
        for (int b = 0xA1; b <= 0xAC; b++) {
            bs.add(b);
        }
        for (int b = 0xAE; b <= 0xFF; b++) {
            bs.add(b);
        }
        List<String> out = new ArrayList<>();
        for (int b : bs) {
            out.add(String.valueOf((char) b));
        }
        int extra = 0;
        for (int b = 0; b < 256; b++) {
            if (!bs.contains(b)) {
                out.add(String.valueOf((char) (256 + extra++)));
            }
        }
        return out;
    }
}
