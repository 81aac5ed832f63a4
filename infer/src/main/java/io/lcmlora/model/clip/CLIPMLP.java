package io.lcmlora.model.clip;

import ai.djl.ndarray.NDArray;
import io.lcmlora.nn.Linear;
import io.lcmlora.nn.Ops;
import io.lcmlora.nn.Weights;

/** transformers {@code CLIPMLP}: {@code fc2(act(fc1(x)))} with the config's {@code hidden_act}. */
public final class CLIPMLP {
    private final Linear fc1;
    private final Linear fc2;
    private final ClipTextConfig.HiddenAct act;

    public CLIPMLP(Weights vb, ClipEncoderSpec c) {
        fc1 = new Linear(vb.pp("fc1"), c.hiddenSize(), c.intermediateSize(), true);
        fc2 = new Linear(vb.pp("fc2"), c.intermediateSize(), c.hiddenSize(), true);
        act = c.hiddenAct();
    }

    /** [B, T, D] -> [B, T, I] -> [B, T, D]. */
    public NDArray forward(NDArray x) {
        NDArray h = fc1.forward(x);
        h = switch (act) {
            case QUICK_GELU -> Ops.quickGelu(h);
            case GELU -> Ops.gelu(h);
            case GELU_NEW, GELU_PYTORCH_TANH -> Ops.geluTanh(h);
        };
        return fc2.forward(h);
    }
}
