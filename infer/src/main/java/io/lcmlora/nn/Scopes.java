package io.lcmlora.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

/**
 * Runs a computation in its own {@link NDScope} and keeps only its result: every other array it creates is closed
 * when it returns, and the result is handed to the enclosing scope (if any). Closing an array only drops this
 * handle's reference to the tensor; autograd keeps its own references to what backward needs, so a pass with
 * gradients may run in one too (its saved tensors then live exactly as long as its graph, as in PyTorch).
 */
public final class Scopes {
    private Scopes() {}

    /** {@code pass.get()} with its intermediates freed; the result must be an array the pass created. */
    public static NDArray keepOnly(Supplier<NDArray> pass) {
        NDArray out;
        try (NDScope scope = new NDScope()) {
            out = pass.get();
            NDScope.unregister(out);
        }
        NDScope.register(out);
        return out;
    }

    /**
     * One link of a chain of inference blocks ({@code h = block(h)}, as the VAE runs): {@code block(h)} with its
     * intermediates freed, then {@code h} itself closed unless it is {@code callerInput} (an array the caller still
     * owns), so the live memory is about one block's activations. The block must return a new array.
     */
    public static NDArray keepOnly(UnaryOperator<NDArray> block, NDArray h, NDArray callerInput) {
        NDArray out = keepOnly(() -> block.apply(h));
        if (h != callerInput) {
            h.close();
        }
        return out;
    }
}
