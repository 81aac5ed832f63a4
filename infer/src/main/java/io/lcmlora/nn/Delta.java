package io.lcmlora.nn;

import ai.djl.ndarray.NDArray;

/**
 * An additive term on a layer's output computed from the layer's input (a LoRA adapter, unfused). The layer
 * adds {@code apply(x)} to its base output while deltas are enabled.
 */
public interface Delta {
    NDArray apply(NDArray x);
}
