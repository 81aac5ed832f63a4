package io.lcmlora.sgm;

import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * diffusers {@code AutoencoderKL} parameter key -> the original SGM/LDM key ({@code first_stage_model.} stripped),
 * for a VAE of {@code levels} blocks (diffusers' {@code convert_vae_state_dict}, with the decoder numbering computed
 * from the level count instead of SDXL's hard-coded {@code up.{3-i}}; golden README, single_file):
 * <pre>
 * encoder.down_blocks.i.resnets.j         -> encoder.down.i.block.j
 * encoder.down_blocks.i.downsamplers.0    -> encoder.down.i.downsample
 * decoder.up_blocks.i.resnets.j           -> decoder.up.(levels-1-i).block.j     (levels numbered in reverse)
 * decoder.up_blocks.i.upsamplers.0        -> decoder.up.(levels-1-i).upsample
 * *.mid_block.resnets.0 / resnets.1       -> *.mid.block_1 / mid.block_2
 * *.mid_block.attentions.0.group_norm / to_q / to_k / to_v / to_out.0 -> *.mid.attn_1.norm / q / k / v / proj_out
 * *.conv_norm_out                         -> *.norm_out
 * resnet conv_shortcut                    -> nin_shortcut
 * conv_in, conv_out, quant_conv, post_quant_conv keep their names.
 * </pre>
 * The mid-attention q/k/v/proj_out weights are 1x1 convolutions [C, C, 1, 1] in SGM and Linear [C, C] in diffusers;
 * {@link #isAttentionProjectionWeight} tells which keys need that reshape.
 */
public final class SgmVaeNames {
    private static final Pattern DOWN = Pattern.compile("encoder\\.down_blocks\\.(\\d+)\\.(resnets|downsamplers)\\.(\\d+)\\.(.+)");
    private static final Pattern UP = Pattern.compile("decoder\\.up_blocks\\.(\\d+)\\.(resnets|upsamplers)\\.(\\d+)\\.(.+)");
    private static final Pattern MID = Pattern.compile("(encoder|decoder)\\.mid_block\\.(resnets|attentions)\\.(\\d+)\\.(.+)");
    private static final Pattern TOP = Pattern.compile("(?:(?:encoder|decoder)\\.(?:conv_in|conv_out)|quant_conv|post_quant_conv)\\.\\w+");
    private static final Pattern NORM_OUT = Pattern.compile("(encoder|decoder)\\.conv_norm_out\\.(\\w+)");
    private static final Map<String, String> ATTENTION = Map.of(
            "group_norm", "norm", "to_q", "q", "to_k", "k", "to_v", "v", "to_out.0", "proj_out");
    private static final Pattern ATTENTION_PARAM = Pattern.compile("(group_norm|to_q|to_k|to_v|to_out\\.0)\\.(weight|bias)");
    private static final Pattern PROJECTION_WEIGHT =
            Pattern.compile("(encoder|decoder)\\.mid_block\\.attentions\\.0\\.(to_q|to_k|to_v|to_out\\.0)\\.weight");

    private final int levels;

    /** @param levels number of encoder (= decoder) blocks: {@code len(block_out_channels)} */
    public SgmVaeNames(int levels) {
        if (levels <= 0) {
            throw new IllegalArgumentException("VAE levels must be positive, got " + levels);
        }
        this.levels = levels;
    }

    /** The SGM key of a diffusers VAE parameter key, or null when it has no SGM counterpart. */
    public String toSgmKey(String key) {
        if (TOP.matcher(key).matches()) {
            return key;
        }
        Matcher m = NORM_OUT.matcher(key);
        if (m.matches()) {
            return m.group(1) + ".norm_out." + m.group(2);
        }
        m = DOWN.matcher(key);
        if (m.matches()) {
            int i = Integer.parseInt(m.group(1));
            return m.group(2).equals("resnets")
                    ? "encoder.down." + i + ".block." + m.group(3) + "." + resnetInner(m.group(4))
                    : m.group(3).equals("0") ? "encoder.down." + i + ".downsample." + m.group(4) : null;
        }
        m = UP.matcher(key);
        if (m.matches()) {
            int i = Integer.parseInt(m.group(1));
            if (i >= levels) {
                return null;
            }
            int sgmLevel = levels - 1 - i;
            return m.group(2).equals("resnets")
                    ? "decoder.up." + sgmLevel + ".block." + m.group(3) + "." + resnetInner(m.group(4))
                    : m.group(3).equals("0") ? "decoder.up." + sgmLevel + ".upsample." + m.group(4) : null;
        }
        m = MID.matcher(key);
        if (m.matches()) {
            int j = Integer.parseInt(m.group(3));
            String head = m.group(1) + ".mid.";
            if (m.group(2).equals("resnets")) {
                return j <= 1 ? head + "block_" + (j + 1) + "." + resnetInner(m.group(4)) : null;
            }
            Matcher p = ATTENTION_PARAM.matcher(m.group(4));
            return j == 0 && p.matches() ? head + "attn_1." + ATTENTION.get(p.group(1)) + "." + p.group(2) : null;
        }
        return null;
    }

    /** Whether a diffusers key is a mid-attention projection weight (Linear here, 1x1 conv in SGM). */
    public static boolean isAttentionProjectionWeight(String key) {
        return PROJECTION_WEIGHT.matcher(key).matches();
    }

    private static String resnetInner(String rest) {
        return rest.startsWith("conv_shortcut.") ? "nin_shortcut." + rest.substring("conv_shortcut.".length()) : rest;
    }
}
