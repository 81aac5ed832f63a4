package io.lcmlora.model.clip;

import java.util.List;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;

/**
 * A CLIP vision tower's outputs, named as transformers returns them.
 *
 * @param lastHiddenState [B, T, D], the last encoder layer's output (no layer norm: transformers applies
 *     {@code post_layernorm} to the pooled class token only)
 * @param pooledOutput [B, D], {@code post_layernorm(last_hidden_state[:, 0])} ({@code pooler_output})
 * @param hiddenStates layers + 1 entries of [B, T, D]: [0] the embeddings after {@code pre_layrnorm}, [i] the
 *     output of layer i
 * @param imageEmbeds [B, projection_dim], {@code visual_projection(pooled_output)}
 */
public record ClipVisionOutput(NDArray lastHiddenState, NDArray pooledOutput, List<NDArray> hiddenStates,
        NDArray imageEmbeds) {
    public ClipVisionOutput {
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

    /** hidden_states[-2], what IP-Adapter Plus conditions on. */
    public NDArray penultimate() {
        return hiddenState(-2);
    }

    /** torch.stack(hidden_states): [layers + 1, B, T, D]. */
    public NDArray stackedHiddenStates() {
        return NDArrays.stack(new NDList(hiddenStates));
    }
}
