package io.lcmlora.model.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.SparseFormat;
import io.lcmlora.nn.Weights;

/**
 * transformers {@code CLIPTextEmbeddings}: {@code token_embedding(input_ids) + position_embedding(arange(T))}.
 * The {@code position_ids} buffer is always {@code arange}, so it is not read (older files that store it are
 * accepted by the loader).
 */
public final class CLIPTextEmbeddings {
    private final NDArray tokenEmbedding;
    private final NDArray positionEmbedding;
    private final int maxPositions;

    public CLIPTextEmbeddings(Weights vb, ClipTextConfig c) {
        tokenEmbedding = vb.pp("token_embedding").get("weight", c.vocabSize(), c.hiddenSize());
        positionEmbedding = vb.pp("position_embedding").get("weight", c.maxPositionEmbeddings(), c.hiddenSize());
        maxPositions = c.maxPositionEmbeddings();
    }

    /** input_ids [B, T] (INT64, already range-checked) -> [B, T, D]. */
    public NDArray forward(NDArray inputIds) {
        long t = inputIds.getShape().get(1);
        if (t > maxPositions) {
            throw new IllegalArgumentException("sequence length " + t + " exceeds max_position_embeddings " + maxPositions);
        }
        NDArray tokens = lookup(inputIds, tokenEmbedding); // [B, T] -> [B, T, D]
        NDArray positions = positionEmbedding.get("0:" + t); // [T, D]
        return tokens.add(positions);
    }

    /** torch.nn.functional.embedding: rows of {@code table} [N, D] at {@code indices} (any shape) -> [..., D]. */
    static NDArray lookup(NDArray indices, NDArray table) {
        return indices.getNDArrayInternal().embedding(indices, table, SparseFormat.DENSE).singletonOrThrow();
    }
}
