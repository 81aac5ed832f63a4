package io.lcmlora.model.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.lcmlora.nn.LayerNorm;
import io.lcmlora.nn.Weights;
import java.util.List;

/**
 * transformers {@code CLIPTextTransformer}: embeddings, the causal pre-LN encoder, {@code final_layer_norm} on
 * the last hidden state only, and the pooled output at the EOS position (see {@link #poolingIndex}).
 */
public final class CLIPTextTransformer {
    private final ClipTextConfig config;
    private final CLIPTextEmbeddings embeddings;
    private final CLIPEncoder encoder;
    private final LayerNorm finalLayerNorm;

    public CLIPTextTransformer(Weights vb, ClipTextConfig c) {
        config = c;
        embeddings = new CLIPTextEmbeddings(vb.pp("embeddings"), c);
        encoder = new CLIPEncoder(vb.pp("encoder"), c);
        finalLayerNorm = new LayerNorm(vb.pp("final_layer_norm"), c.hiddenSize(), c.layerNormEps());
    }

    public ClipTextConfig config() {
        return config;
    }

    /** input_ids [B, T] (integer) -> last_hidden_state, pooler_output, hidden_states; no projection. */
    public ClipTextOutput forward(NDArray inputIds) {
        Shape s = inputIds.getShape();
        if (s.dimension() != 2 || s.get(0) < 1 || s.get(1) < 1) {
            throw new IllegalArgumentException("input_ids must have shape [batch, tokens], got " + s);
        }
        int b = Math.toIntExact(s.get(0));
        int t = Math.toIntExact(s.get(1));
        NDArray ids = inputIds.getDataType() == DataType.INT64 ? inputIds : inputIds.toType(DataType.INT64, false);
        long[] values = ids.toLongArray();
        checkRange(values, t);
        NDArray x = embeddings.forward(ids); // [B, T, D]
        NDArray mask = causalMask(x.getManager(), t, x.getDataType()); // [1, 1, T, T]
        List<NDArray> hiddenStates = encoder.forward(x, mask);
        NDArray last = finalLayerNorm.forward(hiddenStates.get(hiddenStates.size() - 1));
        int[] index = poolingIndex(values, b, t, config.eosTokenId());
        long[] flat = new long[b];
        for (int i = 0; i < b; i++) {
            flat[i] = (long) i * t + index[i];
        }
        NDArray rows = x.getManager().create(flat);
        NDArray pooled = CLIPTextEmbeddings.lookup(rows, last.reshape((long) b * t, config.hiddenSize())); // [B, D]
        return new ClipTextOutput(last, pooled, hiddenStates, null);
    }

    private void checkRange(long[] values, int t) {
        for (int i = 0; i < values.length; i++) {
            if (values[i] < 0 || values[i] >= config.vocabSize()) {
                throw new IllegalArgumentException("input_ids[" + i / t + ", " + i % t + "] = " + values[i]
                        + " is outside the vocabulary [0, " + config.vocabSize() + ")");
            }
        }
    }

    /**
     * The token each row is pooled at, by transformers' rule: with {@code eos_token_id == 2} (legacy configs) the
     * first position of the largest id (the EOS of the CLIP vocabulary); otherwise the first position holding
     * {@code eos_token_id}, or 0 when the row has none (torch's argmax of an all-zero row).
     */
    public static int[] poolingIndex(long[] ids, int batch, int tokens, int eosTokenId) {
        int[] out = new int[batch];
        for (int b = 0; b < batch; b++) {
            int base = b * tokens;
            int best = 0;
            if (eosTokenId == ClipTextConfig.LEGACY_EOS_TOKEN_ID) {
                for (int j = 1; j < tokens; j++) {
                    if ((int) ids[base + j] > (int) ids[base + best]) {
                        best = j;
                    }
                }
            } else {
                for (int j = 0; j < tokens; j++) {
                    if ((int) ids[base + j] == eosTokenId) {
                        best = j;
                        break;
                    }
                }
            }
            out[b] = best;
        }
        return out;
    }

    /** transformers' causal mask: 0 on and below the diagonal, finfo(dtype).min above; [1, 1, T, T]. */
    static NDArray causalMask(NDManager manager, int t, DataType dtype) {
        float min = dtype == DataType.FLOAT16 ? -65504f : -Float.MAX_VALUE;
        float[] m = new float[t * t];
        for (int i = 0; i < t; i++) {
            for (int j = i + 1; j < t; j++) {
                m[i * t + j] = min;
            }
        }
        NDArray mask = manager.create(m, new Shape(1, 1, t, t));
        return dtype == DataType.FLOAT32 ? mask : mask.toType(dtype, false);
    }
}
