package io.lcmlora.model.clip;

import ai.djl.ndarray.NDArray;
import java.util.List;

/**
 * A CLIP vision tower's outputs, named as transformers returns them ({@link ClipOutput} picks hidden states from
 * them).
 *
 * @param lastHiddenState [B, T, D], the last encoder layer's output (no layer norm: transformers applies
 *     {@code post_layernorm} to the pooled class token only)
 * @param pooledOutput [B, D], {@code post_layernorm(last_hidden_state[:, 0])} ({@code pooler_output})
 * @param hiddenStates layers + 1 entries of [B, T, D]: [0] the embeddings after {@code pre_layrnorm}, [i] the
 *     output of layer i
 * @param imageEmbeds [B, projection_dim], {@code visual_projection(pooled_output)}
 */
public record ClipVisionOutput(NDArray lastHiddenState, NDArray pooledOutput, List<NDArray> hiddenStates,
        NDArray imageEmbeds) implements ClipOutput {
    public ClipVisionOutput {
        hiddenStates = List.copyOf(hiddenStates);
    }
}
