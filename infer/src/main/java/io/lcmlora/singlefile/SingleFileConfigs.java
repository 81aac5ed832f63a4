package io.lcmlora.singlefile;

import io.lcmlora.model.clip.ClipTextConfig;
import io.lcmlora.model.unet.UNet2DConditionConfig;
import io.lcmlora.model.vae.AutoencoderKLConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The model configs a single-file checkpoint is read with (the file holds weights only). A null component config
 * means "not known" (a {@code --config-from} folder without that subfolder); loading that component then fails.
 *
 * @param source what the configs are, for error messages ("the sdxl preset", "the configs of /models/sdxl")
 */
public record SingleFileConfigs(String source, UNet2DConditionConfig unet, AutoencoderKLConfig vae,
        ClipTextConfig textEncoder, ClipTextConfig textEncoder2) {
    /** Preset names accepted by {@link #preset}, in the order {@link SingleFileCheckpoint#configs} tries them. */
    public static final List<String> PRESETS = List.of("sdxl", "tiny");

    public SingleFileConfigs {
        if (source == null || source.isBlank()) {
            throw new IllegalArgumentException("SingleFileConfigs needs a source description");
        }
    }

    /** SDXL base 1.0: the presets of each model (stabilityai/stable-diffusion-xl-base-1.0 config.json files). */
    public static SingleFileConfigs sdxl() {
        return new SingleFileConfigs("the sdxl preset", UNet2DConditionConfig.sdxl(), AutoencoderKLConfig.sdxl(),
                ClipTextConfig.sdxlTextEncoder(),
                ClipTextConfig.sdxlTextEncoder2());
    }

    /** The golden tiny models (testdata/golden: unet/, vae/, text_encoders/*) that single_file/model.safetensors holds. */
    public static SingleFileConfigs tiny() {
        return new SingleFileConfigs("the tiny preset", UNet2DConditionConfig.tiny(), AutoencoderKLConfig.tiny(),
                ClipTextConfig.tinyTextEncoder(),
                ClipTextConfig.tinyTextEncoder2());
    }

    /** A preset by name: {@code sdxl} or {@code tiny}. */
    public static SingleFileConfigs preset(String name) {
        return switch (name) {
            case "sdxl" -> sdxl();
            case "tiny" -> tiny();
            default -> throw new IllegalArgumentException("unknown config preset '" + name + "', expected one of " + PRESETS);
        };
    }

    /**
     * The configs of a diffusers SDXL folder: {@code unet/config.json}, {@code vae/config.json},
     * {@code text_encoder/config.json} and {@code text_encoder_2/config.json}, each read when present. At least one
     * must be there.
     */
    public static SingleFileConfigs fromDir(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IOException(dir + ": not a folder (--config-from takes a diffusers SDXL folder with unet/, vae/, "
                    + "text_encoder/, text_encoder_2/ config.json files)");
        }
        Path unet = config(dir, Component.UNET);
        Path vae = config(dir, Component.VAE);
        Path te1 = config(dir, Component.TEXT_ENCODER);
        Path te2 = config(dir, Component.TEXT_ENCODER_2);
        if (unet == null && vae == null && te1 == null && te2 == null) {
            throw new IOException(dir + ": no unet/, vae/, text_encoder/ or text_encoder_2/ config.json");
        }
        return new SingleFileConfigs("the configs of " + dir, unet == null ? null : UNet2DConditionConfig.read(unet),
                vae == null ? null : AutoencoderKLConfig.read(vae),
                te1 == null ? null : ClipTextConfig.read(te1), te2 == null ? null : ClipTextConfig.read(te2));
    }

    private static Path config(Path dir, Component c) {
        Path p = dir.resolve(c.folder()).resolve("config.json");
        return Files.isRegularFile(p) ? p : null;
    }

    /** {@code config} (one of this record's), or an error naming the component folder it would come from. */
    <T> T require(T config, Component c) {
        if (config == null) {
            throw new SingleFileException(source + ": no " + c.folder() + "/config.json, needed for the " + c.folder());
        }
        return config;
    }
}
