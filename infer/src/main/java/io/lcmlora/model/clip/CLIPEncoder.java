package io.lcmlora.model.clip;

import ai.djl.ndarray.NDArray;
import io.lcmlora.nn.Weights;
import java.util.ArrayList;
import java.util.List;

/** transformers {@code CLIPEncoder} (text and vision towers): the stack of {@code layers}, returning every hidden state. */
public final class CLIPEncoder {
    private final List<CLIPEncoderLayer> layers = new ArrayList<>();

    public CLIPEncoder(Weights vb, ClipEncoderSpec c) {
        Weights lv = vb.pp("layers");
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            layers.add(new CLIPEncoderLayer(lv.pp(i), c));
        }
    }

    /**
     * inputs_embeds [B, T, D] -> hidden states as transformers returns them with {@code output_hidden_states}:
     * [0] the input, [i] the output of layer i (layers + 1 entries, no final layer norm).
     */
    public List<NDArray> forward(NDArray inputsEmbeds, NDArray mask) {
        List<NDArray> states = new ArrayList<>(layers.size() + 1);
        NDArray h = inputsEmbeds;
        states.add(h);
        for (CLIPEncoderLayer layer : layers) {
            h = layer.forward(h, mask);
            states.add(h);
        }
        return states;
    }
}
