package io.lcmlora.model.clip;

import ai.djl.ndarray.NDArray;
import io.lcmlora.nn.LayerNorm;
import io.lcmlora.nn.Weights;
import java.util.List;

/**
 * transformers {@code CLIPVisionTransformer}: embeddings, {@code pre_layrnorm} (sic), the pre-LN encoder without
 * a mask, and {@code post_layernorm} on the class token, which is the pooled output.
 */
public final class CLIPVisionTransformer {
    private final ClipVisionConfig config;
    private final CLIPVisionEmbeddings embeddings;
    private final LayerNorm preLayrnorm;
    private final CLIPEncoder encoder;
    private final LayerNorm postLayernorm;

    public CLIPVisionTransformer(Weights vb, ClipVisionConfig c) {
        config = c;
        embeddings = new CLIPVisionEmbeddings(vb.pp("embeddings"), c);
        preLayrnorm = new LayerNorm(vb.pp("pre_layrnorm"), c.hiddenSize(), c.layerNormEps());
        encoder = new CLIPEncoder(vb.pp("encoder"), c);
        postLayernorm = new LayerNorm(vb.pp("post_layernorm"), c.hiddenSize(), c.layerNormEps());
    }

    public ClipVisionConfig config() {
        return config;
    }

    /** pixel_values [B, C, S, S] -> last_hidden_state [B, T, D], pooler_output [B, D], hidden_states. */
    public ClipVisionOutput forward(NDArray pixelValues) {
        NDArray x = preLayrnorm.forward(embeddings.forward(pixelValues)); // [B, T, D]
        List<NDArray> hiddenStates = encoder.forward(x, null);
        NDArray last = hiddenStates.get(hiddenStates.size() - 1);
        NDArray pooled = postLayernorm.forward(last.get(":, 0, :")); // [B, T, D] -> [B, D]
        return new ClipVisionOutput(last, pooled, hiddenStates, null);
    }
}
