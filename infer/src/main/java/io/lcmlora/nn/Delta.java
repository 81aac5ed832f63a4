package io.lcmlora.nn;

import ai.djl.ndarray.NDArray;

/**
 * An additive term on a layer's output computed from the layer's input (a LoRA adapter, unfused). The layer
 * adds {@code apply(x)} to its base output while deltas are enabled; the term broadcasts against that output (a
 * bias difference alone is {@code [out]}, or {@code [1, out, 1, 1]} for a conv).
 */
public interface Delta {
    NDArray apply(NDArray x);
}
