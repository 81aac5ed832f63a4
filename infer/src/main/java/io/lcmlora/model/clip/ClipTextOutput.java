package io.lcmlora.model.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import java.util.List;

/**
 * A CLIP text encoder's outputs.
 *
 * @param lastHiddenState [B, T, D], after {@code final_layer_norm}
 * @param pooledOutput [B, D], {@code last_hidden_state} at the pooling index ({@code pooler_output})
 * @param hiddenStates layers + 1 entries of [B, T, D]: [0] embeddings, [i] output of layer i (no final norm)
 * @param textEmbeds [B, projection_dim], {@code text_projection(pooled_output)}; null without a projection
 */
public record ClipTextOutput(NDArray lastHiddenState, NDArray pooledOutput, List<NDArray> hiddenStates, NDArray textEmbeds) {
    public ClipTextOutput {
        hiddenStates = List.copyOf(hiddenStates);
    }

    /** hidden_states[i] with Python indexing (-1 the last layer's output, -2 the penultimate). */
    public NDArray hiddenState(int index) {
        int n = hiddenStates.size();
        int i = index < 0 ? n + index : index;
        if (i < 0 || i >= n) {
            throw new IndexOutOfBoundsException("hidden_states[" + index + "] with " + n + " hidden states");
        }
        return hiddenStates.get(i);
    }

    /** hidden_states[-2], what SDXL conditions on. */
    public NDArray penultimate() {
        return hiddenState(-2);
    }

    /** torch.stack(hidden_states): [layers + 1, B, T, D]. */
    public NDArray stackedHiddenStates() {
        return NDArrays.stack(new NDList(hiddenStates));
    }

    public ClipTextOutput withTextEmbeds(NDArray embeds) {
        return new ClipTextOutput(lastHiddenState, pooledOutput, hiddenStates, embeds);
    }
}
