package io.lcmlora.model.vae;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.lcmlora.io.ConfigJson;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * Settings of a diffusers {@code AutoencoderKL} (v0.25.1), as in its {@code config.json}. Only the block types
 * diffusers uses for SD/SDXL VAEs are supported ({@code DownEncoderBlock2D} / {@code UpDecoderBlock2D}, SiLU).
 *
 * @param inChannels image channels fed to the encoder
 * @param outChannels image channels produced by the decoder
 * @param blockOutChannels encoder block widths (the decoder uses them reversed)
 * @param layersPerBlock resnets per encoder block (the decoder has one more per block)
 * @param latentChannels latent channels (the encoder emits twice as many: mean and logvar)
 * @param normNumGroups GroupNorm groups everywhere
 * @param sampleSize image size the model was trained at; diffusers' default tile size for tiled encode/decode
 * @param scalingFactor latent scale applied by the pipeline (not the model): {@code z * scalingFactor} after
 *     encoding, {@code z / scalingFactor} before decoding
 * @param forceUpcast diffusers pipelines run this VAE in float32 even when the rest is float16 (pipeline policy)
 * @param midBlockAddAttention whether the mid blocks have their attention (always true in diffusers 0.25.1,
 *     which has no such field; later versions can turn it off)
 */
public record AutoencoderKLConfig(int inChannels, int outChannels, List<Integer> blockOutChannels, int layersPerBlock,
        int latentChannels, int normNumGroups, int sampleSize, double scalingFactor, boolean forceUpcast,
        boolean midBlockAddAttention) {
    public AutoencoderKLConfig {
        blockOutChannels = List.copyOf(blockOutChannels);
        if (inChannels <= 0 || outChannels <= 0 || latentChannels <= 0 || layersPerBlock <= 0 || normNumGroups <= 0) {
            throw new IllegalArgumentException("AutoencoderKLConfig: channels, layers_per_block and norm_num_groups must be "
                    + "positive (in " + inChannels + ", out " + outChannels + ", latent " + latentChannels
                    + ", layers " + layersPerBlock + ", groups " + normNumGroups + ")");
        }
        if (blockOutChannels.isEmpty()) {
            throw new IllegalArgumentException("AutoencoderKLConfig: block_out_channels is empty");
        }
        for (int c : blockOutChannels) {
            if (c <= 0 || c % normNumGroups != 0) {
                throw new IllegalArgumentException("AutoencoderKLConfig: block_out_channels " + blockOutChannels
                        + " must be positive multiples of norm_num_groups " + normNumGroups);
            }
        }
        if (!(scalingFactor > 0) || sampleSize <= 0) {
            throw new IllegalArgumentException("AutoencoderKLConfig: scaling_factor " + scalingFactor + " and sample_size "
                    + sampleSize + " must be positive");
        }
    }

    /**
     * stabilityai/stable-diffusion-xl-base-1.0 {@code vae/config.json}: 4 blocks [128, 256, 512, 512], 2 layers
     * per block, 32 groups, 4 latent channels, RGB in/out, scaling_factor 0.13025, sample_size 1024,
     * force_upcast true.
     */
    public static AutoencoderKLConfig sdxl() {
        return new AutoencoderKLConfig(3, 3, List.of(128, 256, 512, 512), 2, 4, 32, 1024, 0.13025, true, true);
    }

    /** The tiny test VAE of {@code testdata/golden/vae/config.json}: blocks [8, 16, 16], 4 groups. */
    public static AutoencoderKLConfig tiny() {
        return new AutoencoderKLConfig(3, 3, List.of(8, 16, 16), 2, 4, 4, 32, 0.13025, true, true);
    }

    /** Spatial factor between image and latent: 2^(blocks - 1) (8 for SDXL). */
    public int downscale() {
        return 1 << (blockOutChannels.size() - 1);
    }

    /** Reads a diffusers {@code config.json}; unknown fields are ignored, a missing required one is an error naming it. */
    public static AutoencoderKLConfig read(Path file) throws IOException {
        return from(ConfigJson.read(file));
    }

    public static AutoencoderKLConfig from(ConfigJson cfg) {
        int[] boc = cfg.getInts("block_out_channels", 0);
        String cls = cfg.getString("_class_name", "AutoencoderKL");
        if (!cls.equals("AutoencoderKL")) {
            throw new IllegalArgumentException(cfg.file() + ": field '_class_name' is '" + cls + "', expected 'AutoencoderKL'");
        }
        requireAll(cfg, "down_block_types", "DownEncoderBlock2D", boc.length);
        requireAll(cfg, "up_block_types", "UpDecoderBlock2D", boc.length);
        String act = cfg.getString("act_fn", "silu");
        if (!act.equals("silu")) {
            throw new IllegalArgumentException(cfg.file() + ": field 'act_fn' is '" + act + "', only 'silu' is supported");
        }
        int sampleSize = cfg.has("sample_size") && cfg.json().get("sample_size").isJsonArray()
                ? cfg.getInts("sample_size", 0)[0] : cfg.getInt("sample_size");
        return new AutoencoderKLConfig(cfg.getInt("in_channels"), cfg.getInt("out_channels"),
                Arrays.stream(boc).boxed().toList(), cfg.getInt("layers_per_block"), cfg.getInt("latent_channels"),
                cfg.getInt("norm_num_groups"), sampleSize, cfg.getDouble("scaling_factor"),
                cfg.getBool("force_upcast", true), cfg.getBool("mid_block_add_attention", true));
    }

    /**
     * This config as a diffusers (0.25.1) {@code vae/config.json} ({@code mid_block_add_attention} only when false,
     * a field later versions added); {@link #from} of the result gives back an equal config.
     */
    public JsonObject toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("_class_name", "AutoencoderKL");
        o.addProperty("_diffusers_version", "0.25.1");
        o.addProperty("act_fn", "silu");
        JsonArray boc = new JsonArray();
        JsonArray down = new JsonArray();
        JsonArray up = new JsonArray();
        for (int c : blockOutChannels) {
            boc.add(c);
            down.add("DownEncoderBlock2D");
            up.add("UpDecoderBlock2D");
        }
        o.add("block_out_channels", boc);
        o.add("down_block_types", down);
        o.addProperty("force_upcast", forceUpcast);
        o.addProperty("in_channels", inChannels);
        o.addProperty("latent_channels", latentChannels);
        o.addProperty("layers_per_block", layersPerBlock);
        if (!midBlockAddAttention) {
            o.addProperty("mid_block_add_attention", false);
        }
        o.addProperty("norm_num_groups", normNumGroups);
        o.addProperty("out_channels", outChannels);
        o.addProperty("sample_size", sampleSize);
        o.addProperty("scaling_factor", scalingFactor);
        o.add("up_block_types", up);
        return o;
    }

    /** The same VAE with another {@code scaling_factor} (set after training from the latents' spread). */
    public AutoencoderKLConfig withScalingFactor(double factor) {
        return new AutoencoderKLConfig(inChannels, outChannels, blockOutChannels, layersPerBlock, latentChannels,
                normNumGroups, sampleSize, factor, forceUpcast, midBlockAddAttention);
    }

    private static void requireAll(ConfigJson cfg, String field, String expected, int n) {
        String[] types = cfg.getStrings(field);
        if (types.length != n) {
            throw new IllegalArgumentException(cfg.file() + ": field '" + field + "' has " + types.length
                    + " entries, block_out_channels has " + n);
        }
        for (String t : types) {
            if (!t.equals(expected)) {
                throw new IllegalArgumentException(cfg.file() + ": field '" + field + "' contains '" + t + "', only '"
                        + expected + "' is supported");
            }
        }
    }
}
