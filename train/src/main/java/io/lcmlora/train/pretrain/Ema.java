package io.lcmlora.train.pretrain;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import io.lcmlora.nn.NoGrad;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An exponential moving average of the parameters, diffusers' {@code EMAModel} with the default warm-up-free decay
 * schedule: after optimizer update k (1-based), {@code d = min(decay, (1 + k) / (10 + k))} and
 * {@code shadow = d * shadow + (1 - d) * param}. The shadows live in their own manager, outside any per-step scope.
 */
final class Ema implements AutoCloseable {
    private final Map<String, NDArray> params;
    private final Map<String, NDArray> shadow = new LinkedHashMap<>();
    private final NDManager manager;
    private final double decay;
    private long updates;

    Ema(Map<String, NDArray> params, double decay) {
        this.params = params;
        this.decay = decay;
        NDArray first = params.values().iterator().next();
        this.manager = first.getManager().newSubManager();
        try (NoGrad ng = NoGrad.open()) {
            for (Map.Entry<String, NDArray> e : params.entrySet()) {
                NDArray s = e.getValue().duplicate();
                s.attach(manager);
                NDScope.unregister(s);
                shadow.put(e.getKey(), s);
            }
        }
    }

    /** The decay used by update {@code k} (1-based). */
    static double decayAt(double decay, long k) {
        return Math.min(decay, (1.0 + k) / (10.0 + k));
    }

    void update() {
        updates++;
        float d = (float) decayAt(decay, updates);
        try (NoGrad ng = NoGrad.open()) {
            for (Map.Entry<String, NDArray> e : params.entrySet()) {
                try (NDArray step = e.getValue().mul(1f - d)) { // grad mode is off: the scalar is not retained
                    shadow.get(e.getKey()).muli(d).addi(step);
                }
            }
        }
    }

    /** The averaged weights (owned by this object). */
    Map<String, NDArray> weights() {
        return shadow;
    }

    @Override
    public void close() {
        manager.close();
    }
}
