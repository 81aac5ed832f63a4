package io.lcmlora.nn;

import ai.djl.ndarray.NDArray;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A Linear or Conv2d layer whose base weight and bias can be replaced (fusing adapters) and that adds unfused
 * {@link Delta}s to its output. Its path is the checkpoint module name ({@code ...attn1.to_q}).
 */
public abstract class AdaptableLayer {
    private final String path;
    protected NDArray weight;
    protected NDArray bias;
    private final List<Delta> deltas = new ArrayList<>();
    private boolean deltasEnabled = true;
    private long generation;

    protected AdaptableLayer(String path, NDArray weight, NDArray bias) {
        this.path = path;
        this.weight = weight;
        this.bias = bias;
    }

    public String path() {
        return path;
    }

    public NDArray weight() {
        return weight;
    }

    public NDArray bias() {
        return bias;
    }

    /** Replaces the base weight (same shape), returning the previous one. */
    public NDArray replaceWeight(NDArray w) {
        if (!w.getShape().equals(weight.getShape())) {
            throw new IllegalArgumentException(path + ": new weight shape " + w.getShape() + " != " + weight.getShape());
        }
        NDArray old = weight;
        weight = w;
        generation++;
        return old;
    }

    /** Replaces the bias (same shape; the layer must have one), returning the previous one. */
    public NDArray replaceBias(NDArray b) {
        if (bias == null || !b.getShape().equals(bias.getShape())) {
            throw new IllegalArgumentException(path + ": new bias shape " + b.getShape() + " != "
                    + (bias == null ? "none (the layer has no bias)" : bias.getShape()));
        }
        NDArray old = bias;
        bias = b;
        generation++;
        return old;
    }

    public void addDelta(Delta d) {
        deltas.add(d);
        generation++;
    }

    public boolean removeDelta(Delta d) {
        boolean removed = deltas.remove(d);
        if (removed) {
            generation++;
        }
        return removed;
    }

    public List<Delta> deltas() {
        return Collections.unmodifiableList(deltas);
    }

    public void setDeltasEnabled(boolean enabled) {
        if (enabled != deltasEnabled) {
            generation++;
        }
        deltasEnabled = enabled;
    }

    /**
     * A count of the changes to what this layer computes through its own methods (weight or bias replaced, a delta
     * added or removed, deltas switched): equal counts mean the same function, unless a delta's own parameters were
     * changed in place. What {@link KeyValueMemo} checks before reusing an output.
     */
    public long generation() {
        return generation;
    }

    public boolean deltasEnabled() {
        return deltasEnabled;
    }

    protected abstract NDArray base(NDArray x);

    public NDArray forward(NDArray x) {
        NDArray y = base(x);
        if (deltasEnabled) {
            for (Delta d : deltas) {
                NDArray dy = d.apply(x);
                NDArray sum = y.add(dy);
                y.close();
                dy.close();
                y = sum;
            }
        }
        return y;
    }
}
