package io.lcmlora.model.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import java.util.List;

/**
 * What the CLIP towers' outputs share ({@link ClipTextOutput}, {@link ClipVisionOutput}): the per-layer hidden states
 * and transformers' ways of picking from them. Each record keeps its own projection's name ({@code text_embeds},
 * {@code image_embeds}).
 */
public interface ClipOutput {
    /** [B, T, D], the last layer's output (each record says which norm, if any, it has had). */
    NDArray lastHiddenState();

    /** [B, D], {@code pooler_output}. */
    NDArray pooledOutput();

    /** layers + 1 entries of [B, T, D]: [0] the embeddings, [i] the output of layer i. */
    List<NDArray> hiddenStates();

    /** hidden_states[i] with Python indexing (-1 the last layer's output, -2 the penultimate). */
    default NDArray hiddenState(int index) {
        List<NDArray> all = hiddenStates();
        int n = all.size();
        int i = index < 0 ? n + index : index;
        if (i < 0 || i >= n) {
            throw new IndexOutOfBoundsException("hidden_states[" + index + "] with " + n + " hidden states");
        }
        return all.get(i);
    }

    /** hidden_states[-2]: what SDXL's text conditioning and IP-Adapter Plus's image conditioning use. */
    default NDArray penultimate() {
        return hiddenState(-2);
    }

    /** torch.stack(hidden_states): [layers + 1, B, T, D]. */
    default NDArray stackedHiddenStates() {
        return NDArrays.stack(new NDList(hiddenStates()));
    }
}
