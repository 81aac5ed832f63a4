package io.lcmlora.model.vae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import java.util.function.UnaryOperator;

/**
 * Runs one block's forward inside an {@link NDScope}: every intermediate it creates is closed when it returns, and
 * only its result survives (handed to the enclosing scope, if any). The VAE is inference-only, so nothing needs the
 * intermediates for a backward pass; at 1024 px this keeps the live memory to about one block's activations instead
 * of the whole decoder's.
 */
final class BlockScope {
    private BlockScope() {}

    /**
     * {@code block(h)} with its intermediates freed; {@code h} itself is closed afterwards unless it is
     * {@code callerInput} (an array the caller still owns). The block must return a new array.
     */
    static NDArray apply(UnaryOperator<NDArray> block, NDArray h, NDArray callerInput) {
        NDArray out;
        try (NDScope scope = new NDScope()) {
            out = block.apply(h);
            NDScope.unregister(out);
        }
        NDScope.register(out);
        if (h != callerInput) {
            h.close();
        }
        return out;
    }
}
