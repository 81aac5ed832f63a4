package io.lcmlora.model.unet;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.lcmlora.io.ConfigJson;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * The settings of diffusers' {@code UNet2DConditionModel} this port supports (the SDXL and SD 1.x/2.x paths),
 * with diffusers' config semantics: {@code attention_head_dim} is the number of heads when
 * {@code num_attention_heads} is unset; per-block lists broadcast from scalars; the mid block uses the last
 * {@code transformer_layers_per_block} entry and the up blocks the reversed list.
 *
 * @param heads attention heads per down block (head dim = channels / heads)
 * @param timeCondProjDim 0 when the model has no guidance-condition projection
 * @param additionEmbedType "text_time" (SDXL) or null
 */
public record UNet2DConditionConfig(
        int sampleSize,
        int inChannels,
        int outChannels,
        boolean flipSinToCos,
        double freqShift,
        List<String> downBlockTypes,
        String midBlockType,
        List<String> upBlockTypes,
        int[] blockOutChannels,
        int[] layersPerBlock,
        int downsamplePadding,
        int normNumGroups,
        double normEps,
        int[] crossAttentionDim,
        int[] transformerLayersPerBlock,
        int[] heads,
        boolean useLinearProjection,
        String additionEmbedType,
        int additionTimeEmbedDim,
        int projectionClassEmbeddingsInputDim,
        int timeCondProjDim,
        int convInKernel,
        int convOutKernel,
        int timeEmbeddingDim) {

    private static final List<String> DOWN = List.of("DownBlock2D", "CrossAttnDownBlock2D");
    private static final List<String> UP = List.of("UpBlock2D", "CrossAttnUpBlock2D");

    public UNet2DConditionConfig {
        int n = blockOutChannels.length;
        require(n > 0, "block_out_channels", "at least one block");
        require(downBlockTypes.size() == n, "down_block_types", n + " entries (one per block_out_channels)");
        require(upBlockTypes.size() == n, "up_block_types", n + " entries");
        for (String t : downBlockTypes) {
            require(DOWN.contains(t), "down_block_types", "one of " + DOWN + ", got " + t);
        }
        for (String t : upBlockTypes) {
            require(UP.contains(t), "up_block_types", "one of " + UP + ", got " + t);
        }
        require("UNetMidBlock2DCrossAttn".equals(midBlockType), "mid_block_type", "UNetMidBlock2DCrossAttn, got " + midBlockType);
        require(layersPerBlock.length == n, "layers_per_block", n + " entries");
        require(crossAttentionDim.length == n, "cross_attention_dim", n + " entries");
        require(transformerLayersPerBlock.length == n, "transformer_layers_per_block", n + " entries");
        require(heads.length == n, "attention_head_dim/num_attention_heads", n + " entries");
        for (int i = 0; i < n; i++) {
            require(blockOutChannels[i] % normNumGroups == 0, "norm_num_groups", "a divisor of every block_out_channels entry");
            require(blockOutChannels[i] % heads[i] == 0, "attention_head_dim", "heads dividing block_out_channels[" + i + "]");
        }
        require(additionEmbedType == null || additionEmbedType.equals("text_time"), "addition_embed_type",
                "null or text_time, got " + additionEmbedType);
        require(convInKernel % 2 == 1 && convOutKernel % 2 == 1, "conv_in_kernel/conv_out_kernel", "odd kernel sizes");
        blockOutChannels = blockOutChannels.clone();
        layersPerBlock = layersPerBlock.clone();
        crossAttentionDim = crossAttentionDim.clone();
        transformerLayersPerBlock = transformerLayersPerBlock.clone();
        heads = heads.clone();
        downBlockTypes = List.copyOf(downBlockTypes);
        upBlockTypes = List.copyOf(upBlockTypes);
    }

    private static void require(boolean ok, String field, String expected) {
        if (!ok) {
            throw new IllegalArgumentException("UNet config field '" + field + "': expected " + expected);
        }
    }

    public int levels() {
        return blockOutChannels.length;
    }

    /** Channels of the time embedding (time_embedding_dim or 4 * block_out_channels[0]). */
    public int timeEmbedDim() {
        return timeEmbeddingDim > 0 ? timeEmbeddingDim : 4 * blockOutChannels[0];
    }

    /**
     * stabilityai/stable-diffusion-xl-base-1.0 {@code unet/config.json} (diffusers 0.19+): 2,567,463,684
     * parameters.
     */
    public static UNet2DConditionConfig sdxl() {
        return new UNet2DConditionConfig(128, 4, 4, true, 0,
                List.of("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"), "UNetMidBlock2DCrossAttn",
                List.of("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
                new int[] {320, 640, 1280}, new int[] {2, 2, 2}, 1, 32, 1e-5,
                new int[] {2048, 2048, 2048}, new int[] {1, 2, 10}, new int[] {5, 10, 20}, true,
                "text_time", 256, 2816, 0, 3, 3, 0);
    }

    /** The tiny SDXL-shaped UNet of the golden set ({@code testdata/golden/unet/config.json}). */
    public static UNet2DConditionConfig tiny() {
        return new UNet2DConditionConfig(16, 4, 4, true, 0,
                List.of("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"), "UNetMidBlock2DCrossAttn",
                List.of("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
                new int[] {16, 32, 48}, new int[] {2, 2, 2}, 1, 8, 1e-5,
                new int[] {64, 64, 64}, new int[] {1, 1, 2}, new int[] {1, 2, 4}, true,
                "text_time", 8, 80, 0, 3, 3, 0);
    }

    public static UNet2DConditionConfig read(Path configJson) throws IOException {
        return fromJson(ConfigJson.read(configJson));
    }

    /** Reads a diffusers config.json; fields outside this port's scope must hold their default values. */
    public static UNet2DConditionConfig fromJson(ConfigJson c) {
        List<String> down = Arrays.asList(c.getStrings("down_block_types"));
        int n = down.size();
        unsupportedUnless(c, c.getString("act_fn", "silu").equals("silu"), "act_fn", "silu");
        unsupportedUnless(c, !c.has("class_embed_type"), "class_embed_type", "null");
        unsupportedUnless(c, !c.has("encoder_hid_dim"), "encoder_hid_dim", "null");
        unsupportedUnless(c, !c.getBool("dual_cross_attention", false), "dual_cross_attention", "false");
        unsupportedUnless(c, !c.has("only_cross_attention") || !anyTrue(c, "only_cross_attention"), "only_cross_attention", "false");
        unsupportedUnless(c, c.getString("resnet_time_scale_shift", "default").equals("default"), "resnet_time_scale_shift", "default");
        unsupportedUnless(c, c.getString("time_embedding_type", "positional").equals("positional"), "time_embedding_type", "positional");
        unsupportedUnless(c, c.getString("attention_type", "default").equals("default"), "attention_type", "default");
        unsupportedUnless(c, c.getDouble("mid_block_scale_factor", 1) == 1, "mid_block_scale_factor", "1");
        unsupportedUnless(c, c.getDouble("resnet_out_scale_factor", 1) == 1, "resnet_out_scale_factor", "1");
        unsupportedUnless(c, !c.getBool("center_input_sample", false), "center_input_sample", "false");
        unsupportedUnless(c, !c.has("reverse_transformer_layers_per_block"), "reverse_transformer_layers_per_block", "null");
        unsupportedUnless(c, !c.has("time_embedding_act_fn"), "time_embedding_act_fn", "null");
        unsupportedUnless(c, !c.has("timestep_post_act"), "timestep_post_act", "null");
        unsupportedUnless(c, !c.has("cross_attention_norm"), "cross_attention_norm", "null");
        int[] heads = c.has("num_attention_heads") ? c.getInts("num_attention_heads", n) : c.getInts("attention_head_dim", n);
        String add = c.has("addition_embed_type") ? c.getString("addition_embed_type") : null;
        return new UNet2DConditionConfig(
                c.getInt("sample_size", 64),
                c.getInt("in_channels", 4),
                c.getInt("out_channels", 4),
                c.getBool("flip_sin_to_cos", true),
                c.getDouble("freq_shift", 0),
                down,
                c.getString("mid_block_type", "UNetMidBlock2DCrossAttn"),
                Arrays.asList(c.getStrings("up_block_types")),
                c.getInts("block_out_channels", 0),
                c.getInts("layers_per_block", n),
                c.getInt("downsample_padding", 1),
                c.getInt("norm_num_groups", 32),
                c.getDouble("norm_eps", 1e-5),
                c.getInts("cross_attention_dim", n),
                c.has("transformer_layers_per_block") ? c.getInts("transformer_layers_per_block", n) : fill(n, 1),
                heads,
                c.getBool("use_linear_projection", false),
                add,
                add == null ? 0 : c.getInt("addition_time_embed_dim"),
                add == null ? 0 : c.getInt("projection_class_embeddings_input_dim"),
                c.getInt("time_cond_proj_dim", 0),
                c.getInt("conv_in_kernel", 3),
                c.getInt("conv_out_kernel", 3),
                c.getInt("time_embedding_dim", 0));
    }

    /**
     * This config as a diffusers (0.25.1) {@code unet/config.json}: {@code attention_head_dim} holds the heads per
     * block (SDXL's convention), fields at their default are written only when diffusers needs them, and
     * {@link #fromJson} of the result gives back an equal config.
     */
    public JsonObject toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("_class_name", "UNet2DConditionModel");
        o.addProperty("_diffusers_version", "0.25.1");
        o.addProperty("act_fn", "silu");
        if (additionEmbedType != null) {
            o.addProperty("addition_embed_type", additionEmbedType);
            o.addProperty("addition_time_embed_dim", additionTimeEmbedDim);
            o.addProperty("projection_class_embeddings_input_dim", projectionClassEmbeddingsInputDim);
        }
        o.add("attention_head_dim", ints(heads));
        o.add("block_out_channels", ints(blockOutChannels));
        o.addProperty("center_input_sample", false);
        o.addProperty("conv_in_kernel", convInKernel);
        o.addProperty("conv_out_kernel", convOutKernel);
        o.add("cross_attention_dim", ints(crossAttentionDim));
        o.add("down_block_types", strings(downBlockTypes));
        o.addProperty("downsample_padding", downsamplePadding);
        o.addProperty("flip_sin_to_cos", flipSinToCos);
        o.addProperty("freq_shift", freqShift);
        o.addProperty("in_channels", inChannels);
        o.add("layers_per_block", ints(layersPerBlock));
        o.addProperty("mid_block_type", midBlockType);
        o.addProperty("norm_eps", normEps);
        o.addProperty("norm_num_groups", normNumGroups);
        o.addProperty("out_channels", outChannels);
        o.addProperty("sample_size", sampleSize);
        if (timeCondProjDim > 0) {
            o.addProperty("time_cond_proj_dim", timeCondProjDim);
        }
        if (timeEmbeddingDim > 0) {
            o.addProperty("time_embedding_dim", timeEmbeddingDim);
        }
        o.add("transformer_layers_per_block", ints(transformerLayersPerBlock));
        o.add("up_block_types", strings(upBlockTypes));
        o.addProperty("use_linear_projection", useLinearProjection);
        return o;
    }

    private static JsonArray ints(int[] v) {
        JsonArray a = new JsonArray();
        for (int x : v) {
            a.add(x);
        }
        return a;
    }

    private static JsonArray strings(List<String> v) {
        JsonArray a = new JsonArray();
        v.forEach(a::add);
        return a;
    }

    private static boolean anyTrue(ConfigJson c, String field) {
        var e = c.json().get(field);
        if (e.isJsonArray()) {
            for (var x : e.getAsJsonArray()) {
                if (x.getAsBoolean()) {
                    return true;
                }
            }
            return false;
        }
        return e.getAsBoolean();
    }

    private static int[] fill(int n, int v) {
        int[] a = new int[n];
        Arrays.fill(a, v);
        return a;
    }

    private static void unsupportedUnless(ConfigJson c, boolean ok, String field, String supported) {
        if (!ok) {
            throw new IllegalArgumentException(c.file() + ": field '" + field + "' = " + c.json().get(field)
                    + " is not supported by this UNet port (supported: " + supported + ")");
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof UNet2DConditionConfig u && toString().equals(u.toString());
    }

    @Override
    public int hashCode() {
        return toString().hashCode();
    }

    @Override
    public String toString() {
        return "UNet2DConditionConfig[sampleSize=" + sampleSize + ", in=" + inChannels + ", out=" + outChannels
                + ", flipSinToCos=" + flipSinToCos + ", freqShift=" + freqShift + ", down=" + downBlockTypes
                + ", mid=" + midBlockType + ", up=" + upBlockTypes + ", blockOutChannels=" + Arrays.toString(blockOutChannels)
                + ", layersPerBlock=" + Arrays.toString(layersPerBlock) + ", downsamplePadding=" + downsamplePadding
                + ", groups=" + normNumGroups + ", eps=" + normEps + ", crossAttentionDim=" + Arrays.toString(crossAttentionDim)
                + ", transformerLayersPerBlock=" + Arrays.toString(transformerLayersPerBlock) + ", heads=" + Arrays.toString(heads)
                + ", linearProjection=" + useLinearProjection + ", addition=" + additionEmbedType + ", additionTimeEmbedDim="
                + additionTimeEmbedDim + ", projectionInputDim=" + projectionClassEmbeddingsInputDim + ", timeCondProjDim="
                + timeCondProjDim + ", convIn=" + convInKernel + ", convOut=" + convOutKernel + ", timeEmbeddingDim=" + timeEmbeddingDim + "]";
    }

    @Override
    public int[] blockOutChannels() {
        return blockOutChannels.clone();
    }

    @Override
    public int[] layersPerBlock() {
        return layersPerBlock.clone();
    }

    @Override
    public int[] crossAttentionDim() {
        return crossAttentionDim.clone();
    }

    @Override
    public int[] transformerLayersPerBlock() {
        return transformerLayersPerBlock.clone();
    }

    @Override
    public int[] heads() {
        return heads.clone();
    }
}
