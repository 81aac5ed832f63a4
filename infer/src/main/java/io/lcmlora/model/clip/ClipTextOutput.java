package io.lcmlora.model.clip;

import ai.djl.ndarray.NDArray;
import java.util.List;

/**
 * A CLIP text encoder's outputs ({@link ClipOutput} picks hidden states from them).
 *
 * @param lastHiddenState [B, T, D], after {@code final_layer_norm}
 * @param pooledOutput [B, D], {@code last_hidden_state} at the pooling index ({@code pooler_output})
 * @param hiddenStates layers + 1 entries of [B, T, D]: [0] embeddings, [i] output of layer i (no final norm)
 * @param textEmbeds [B, projection_dim], {@code text_projection(pooled_output)}; null without a projection
 */
public record ClipTextOutput(NDArray lastHiddenState, NDArray pooledOutput, List<NDArray> hiddenStates, NDArray textEmbeds)
        implements ClipOutput {
    public ClipTextOutput {
        hiddenStates = List.copyOf(hiddenStates);
    }

    public ClipTextOutput withTextEmbeds(NDArray embeds) {
        return new ClipTextOutput(lastHiddenState, pooledOutput, hiddenStates, embeds);
    }
}
