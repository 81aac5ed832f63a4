package io.lcmlora.model.unet;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import io.lcmlora.nn.Linear;
import io.lcmlora.nn.Ops;
import io.lcmlora.nn.Weights;

/**
 * diffusers {@code FeedForward} with {@code activation_fn="geglu"}: {@code net.0} is GEGLU (a projection to
 * 2 x inner, split into hidden and gate, {@code hidden * gelu(gate)}), {@code net.2} projects back.
 */
public final class FeedForward {
    private final Linear proj;
    private final Linear out;

    public FeedForward(Weights vb, long dim, int mult) {
        long inner = dim * mult;
        proj = new Linear(vb.pp("net").pp(0).pp("proj"), dim, inner * 2, true);
        out = new Linear(vb.pp("net").pp(2), inner, dim, true);
    }

    /** [B, T, dim] -> [B, T, dim]. */
    public NDArray forward(NDArray x) {
        NDArray p = proj.forward(x);
        NDList hg = p.split(2, p.getShape().dimension() - 1); // [B, T, 2*inner] -> 2 x [B, T, inner] (views of p)
        NDArray gate = Ops.gelu(hg.get(1));
        NDArray h = hg.get(0).mul(gate);
        // closed once consumed: freed at once without gradients, autograd keeps what backward needs
        p.close();
        hg.close();
        gate.close();
        NDArray y = out.forward(h);
        h.close();
        return y;
    }
}
