package io.lcmlora.singlefile;

import io.lcmlora.singlefile.TensorSource.Transform;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * transformers {@code CLIPTextModelWithProjection} key -> OpenCLIP text-tower key (SGM's
 * {@code FrozenOpenCLIPEmbedder2}, stored under {@code conditioner.embedders.1.model.}); golden README, single_file:
 * <pre>
 * text_model.embeddings.token_embedding.weight      -> token_embedding.weight
 * text_model.embeddings.position_embedding.weight   -> positional_embedding
 * text_model.encoder.layers.N.self_attn.{q,k,v}_proj.{weight,bias} -> transformer.resblocks.N.attn.in_proj_{weight,bias}
 *                                                      rows [:d], [d:2d], [2d:] with d = width
 * ...layers.N.self_attn.out_proj                    -> transformer.resblocks.N.attn.out_proj
 * ...layers.N.layer_norm1 / layer_norm2             -> transformer.resblocks.N.ln_1 / ln_2
 * ...layers.N.mlp.fc1 / mlp.fc2                     -> transformer.resblocks.N.mlp.c_fc / mlp.c_proj
 * text_model.final_layer_norm                       -> ln_final
 * text_projection.weight [proj, width]              -> text_projection [width, proj] (transposed: pooled @ text_projection)
 * </pre>
 * OpenCLIP's {@code logit_scale} has no counterpart (only CLIP training uses it).
 */
public final class OpenClipNames {
    private static final Pattern LAYER = Pattern.compile("text_model\\.encoder\\.layers\\.(\\d+)\\.(.+)");
    private static final Pattern QKV = Pattern.compile("self_attn\\.([qkv])_proj\\.(weight|bias)");
    private static final Map<String, String> LAYER_MODULES = Map.of(
            "self_attn.out_proj", "attn.out_proj",
            "layer_norm1", "ln_1",
            "layer_norm2", "ln_2",
            "mlp.fc1", "mlp.c_fc",
            "mlp.fc2", "mlp.c_proj");

    private OpenClipNames() {}

    /** The OpenCLIP source of a transformers key, or null when it has none. */
    public static TensorSource source(String key) {
        switch (key) {
            case "text_model.embeddings.token_embedding.weight":
                return TensorSource.same("token_embedding.weight");
            case "text_model.embeddings.position_embedding.weight":
                return TensorSource.same("positional_embedding");
            case "text_projection.weight":
                return new TensorSource("text_projection", Transform.TRANSPOSE);
            default:
                break;
        }
        if (key.startsWith("text_model.final_layer_norm.")) {
            return TensorSource.same("ln_final." + key.substring("text_model.final_layer_norm.".length()));
        }
        Matcher m = LAYER.matcher(key);
        if (!m.matches()) {
            return null;
        }
        String block = "transformer.resblocks." + m.group(1) + ".";
        Matcher q = QKV.matcher(m.group(2));
        if (q.matches()) {
            Transform part = switch (q.group(1)) {
                case "q" -> Transform.FUSED_Q;
                case "k" -> Transform.FUSED_K;
                default -> Transform.FUSED_V;
            };
            return new TensorSource(block + "attn.in_proj_" + q.group(2), part);
        }
        int dot = m.group(2).lastIndexOf('.');
        String module = LAYER_MODULES.get(m.group(2).substring(0, Math.max(dot, 0)));
        return module == null ? null : TensorSource.same(block + module + m.group(2).substring(dot));
    }
}
