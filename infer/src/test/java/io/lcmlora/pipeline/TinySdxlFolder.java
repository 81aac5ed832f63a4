package io.lcmlora.pipeline;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.stream.Stream;

/**
 * A diffusers SDXL folder assembled from the golden tiny components: unet/, vae/, text_encoder/, text_encoder_2/
 * (vocab 1000), SDXL's scheduler config, and testdata/tiny-tokenizer (the real CLIP vocabulary cut to the first 998
 * entries and its merges prefix, BOS 998 / EOS 999: ids that fit the tiny encoders; the real SDXL tokenizer's ids
 * go up to 49407).
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
        Path tok = GOLDEN.resolveSibling("tiny-tokenizer");
        copyDir(tok.resolve("tokenizer"), root.resolve("tokenizer"));
        copyDir(tok.resolve("tokenizer_2"), root.resolve("tokenizer_2"));
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
}
