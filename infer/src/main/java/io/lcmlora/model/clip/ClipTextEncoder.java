package io.lcmlora.model.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.lcmlora.io.ModelWeights;
import io.lcmlora.nn.AdaptableLayer;
import io.lcmlora.nn.Weights;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** A CLIP text encoder ({@link CLIPTextModel} or {@link CLIPTextModelWithProjection}) and their loader. */
public interface ClipTextEncoder {
    /** Buffers older transformers versions saved and that the model does not read. */
    Set<String> IGNORED_KEYS = Set.of("text_model.embeddings.position_ids");

    /** Whether to build the projection head. */
    enum Projection {
        /** From config.json {@code architectures}, else from the presence of {@code text_projection.weight}. */
        AUTO,
        YES,
        NO
    }

    ClipTextConfig config();

    /** input_ids [B, T] (integer) -> outputs; intermediate arrays live on the ids' manager. */
    ClipTextOutput forward(NDArray inputIds);

    boolean hasProjection();

    /** Every Linear by module path ({@code text_model.encoder.layers.0.self_attn.q_proj}): LoRA targets. */
    Map<String, io.lcmlora.nn.AdaptableLayer> layers();

    /** Token ids as an INT64 [B, T] array; every row must have the same length. */
    static NDArray inputIds(NDManager manager, int[][] ids) {
        if (ids.length == 0) {
            throw new IllegalArgumentException("input_ids: empty batch");
        }
        int t = ids[0].length;
        long[] flat = new long[ids.length * t];
        for (int b = 0; b < ids.length; b++) {
            if (ids[b].length != t) {
                throw new IllegalArgumentException("input_ids row " + b + " has " + ids[b].length + " tokens, row 0 has " + t
                        + " (pad every prompt to the same length)");
            }
            for (int j = 0; j < t; j++) {
                flat[b * t + j] = ids[b][j];
            }
        }
        return manager.create(flat, new Shape(ids.length, t));
    }

    /**
     * Loads a transformers text-encoder folder (config.json + model.safetensors, its {@code variant} or shards)
     * with its floating weights as {@code dtype}; every file tensor must be used (a stored
     * {@code position_ids} buffer excepted) and every parameter present.
     */
    static ClipTextEncoder load(Path dir, NDManager manager, DataType dtype, String variant, Projection projection)
            throws IOException {
        ClipTextConfig config = ClipTextConfig.read(dir.resolve("config.json"));
        List<Path> files = ModelWeights.files(dir, variant);
        NDManager weights = manager.newSubManager();
        try {
            Map<String, NDArray> tensors = ModelWeights.load(files, weights, dtype);
            boolean withProjection = switch (projection) {
                case YES -> true;
                case NO -> false;
                case AUTO -> config.declaresProjection()
                        || (!config.architectures().contains("CLIPTextModel") && tensors.containsKey("text_projection.weight"));
            };
            Weights vb = Weights.of(weights, tensors, ModelWeights.describe(files));
            ClipTextEncoder model = withProjection ? new CLIPTextModelWithProjection(vb, config) : new CLIPTextModel(vb, config);
            vb.checkAllUsed(IGNORED_KEYS);
            return model;
        } catch (RuntimeException | IOException e) {
            weights.close();
            throw e;
        }
    }
}
