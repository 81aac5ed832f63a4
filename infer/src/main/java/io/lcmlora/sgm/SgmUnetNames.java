package io.lcmlora.sgm;

import io.lcmlora.model.unet.UNet2DConditionConfig;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * diffusers UNet module path -> the original SGM/LDM path ({@code down_blocks.1.attentions.0.proj_in} ->
 * {@code input_blocks.4.1.proj_in}), computed from the UNet's layout: layers per block L and which up blocks have
 * attentions (the upsampler sits after the attention in those). The index arithmetic is diffusers'
 * {@code convert_ldm_unet_checkpoint} (golden README, single_file):
 * <pre>
 * down_blocks.b.resnets.l          -> input_blocks.(1 + b*(L+1) + l).0     (resnet internals renamed, below)
 * down_blocks.b.attentions.l       -> input_blocks.(1 + b*(L+1) + l).1
 * down_blocks.b.downsamplers.0.conv -> input_blocks.((b+1)*(L+1)).0.op
 * mid_block.resnets.0 / attentions.0 / resnets.1 -> middle_block.0 / 1 / 2
 * up_blocks.b.resnets.l            -> output_blocks.(b*(L+1) + l).0
 * up_blocks.b.attentions.l         -> output_blocks.(b*(L+1) + l).1
 * up_blocks.b.upsamplers.0.conv    -> output_blocks.(b*(L+1) + L).2.conv  (.1.conv without attentions)
 * conv_in, time_embedding.linear_1/2, add_embedding.linear_1/2, conv_norm_out, conv_out
 *   -> input_blocks.0.0, time_embed.0/2, label_emb.0.0/0.2, out.0, out.2
 * resnet: norm1 conv1 time_emb_proj norm2 conv2 conv_shortcut
 *   -> in_layers.0 in_layers.2 emb_layers.1 out_layers.0 out_layers.3 skip_connection
 * </pre>
 * Transformer internals keep their names.
 */
public final class SgmUnetNames {
    private static final Pattern BLOCK = Pattern.compile(
            "(down_blocks|up_blocks)\\.(\\d+)\\.(resnets|attentions|downsamplers|upsamplers)\\.(\\d+)(?:\\.(.+))?");
    private static final Pattern MID = Pattern.compile("mid_block\\.(resnets|attentions)\\.(\\d+)(?:\\.(.+))?");
    private static final Map<String, String> TOP = Map.of(
            "conv_in", "input_blocks.0.0",
            "time_embedding.linear_1", "time_embed.0",
            "time_embedding.linear_2", "time_embed.2",
            "add_embedding.linear_1", "label_emb.0.0",
            "add_embedding.linear_2", "label_emb.0.2",
            "conv_norm_out", "out.0",
            "conv_out", "out.2");
    private static final Map<String, String> RESNET = Map.of(
            "norm1", "in_layers.0",
            "conv1", "in_layers.2",
            "time_emb_proj", "emb_layers.1",
            "norm2", "out_layers.0",
            "conv2", "out_layers.3",
            "conv_shortcut", "skip_connection");

    private final int layersPerBlock;
    private final List<Boolean> upHasAttentions;

    /**
     * @param layersPerBlock diffusers {@code layers_per_block} (down blocks have L resnets, up blocks L+1)
     * @param upBlockTypes diffusers {@code up_block_types}; a type containing "CrossAttn" has attentions
     */
    public SgmUnetNames(int layersPerBlock, List<String> upBlockTypes) {
        if (layersPerBlock <= 0) {
            throw new IllegalArgumentException("layers_per_block must be positive, got " + layersPerBlock);
        }
        this.layersPerBlock = layersPerBlock;
        this.upHasAttentions = upBlockTypes.stream().map(t -> t.contains("CrossAttn")).toList();
    }

    /** The layout of a UNet config; SGM numbering needs the same layers_per_block on every level. */
    public static SgmUnetNames of(UNet2DConditionConfig c) {
        int[] lpb = c.layersPerBlock();
        for (int l : lpb) {
            if (l != lpb[0]) {
                throw new IllegalArgumentException("UNet config field 'layers_per_block' " + Arrays.toString(lpb)
                        + ": the SGM layout needs one value for every level");
            }
        }
        return new SgmUnetNames(lpb[0], c.upBlockTypes());
    }

    /** The SGM path of a diffusers module path, or null when the path has no SGM counterpart. */
    public String toSgm(String module) {
        String top = TOP.get(module);
        if (top != null) {
            return top;
        }
        int l1 = layersPerBlock + 1;
        Matcher m = BLOCK.matcher(module);
        if (m.matches()) {
            boolean down = m.group(1).equals("down_blocks");
            int b = Integer.parseInt(m.group(2));
            String kind = m.group(3);
            int l = Integer.parseInt(m.group(4));
            String rest = m.group(5);
            return switch (kind) {
                case "resnets" -> join((down ? "input_blocks." + (1 + b * l1 + l) : "output_blocks." + (b * l1 + l)) + ".0",
                        resnetInner(rest));
                case "attentions" -> join((down ? "input_blocks." + (1 + b * l1 + l) : "output_blocks." + (b * l1 + l)) + ".1",
                        rest);
                case "downsamplers" -> down && l == 0 && "conv".equals(rest) ? "input_blocks." + ((b + 1) * l1) + ".0.op" : null;
                default -> !down && l == 0 && "conv".equals(rest) && b < upHasAttentions.size()
                        ? "output_blocks." + (b * l1 + layersPerBlock) + (upHasAttentions.get(b) ? ".2" : ".1") + ".conv"
                        : null;
            };
        }
        Matcher mid = MID.matcher(module);
        if (mid.matches()) {
            int i = Integer.parseInt(mid.group(2));
            boolean resnet = mid.group(1).equals("resnets");
            if (i > 1 || (!resnet && i != 0)) {
                return null;
            }
            String rest = mid.group(3);
            return resnet ? join("middle_block." + (i == 0 ? 0 : 2), resnetInner(rest)) : join("middle_block.1", rest);
        }
        return null;
    }

    /**
     * The SGM key of a diffusers parameter key ({@code down_blocks.0.resnets.0.conv1.weight} ->
     * {@code input_blocks.1.0.in_layers.2.weight}): the module path mapped by {@link #toSgm}, the parameter name kept.
     * Null when the module has no SGM counterpart.
     */
    public String toSgmKey(String key) {
        int dot = key.lastIndexOf('.');
        if (dot <= 0) {
            return null;
        }
        String module = toSgm(key.substring(0, dot));
        return module == null ? null : module + key.substring(dot);
    }

    private static String resnetInner(String rest) {
        if (rest == null) {
            return null;
        }
        return RESNET.getOrDefault(rest, rest);
    }

    private static String join(String head, String rest) {
        return rest == null ? head : head + "." + rest;
    }
}
