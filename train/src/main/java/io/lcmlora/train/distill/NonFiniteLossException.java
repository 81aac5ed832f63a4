package io.lcmlora.train.distill;

import io.lcmlora.train.parallel.AgreedFailure;

/**
 * A NaN or infinite loss (or gradient norm): the run stops; nothing of that step was applied. In a data-parallel run
 * every rank throws it at the same step ({@link LoraTrainer} decides on a flag all-reduced with the gradients).
 */
public final class NonFiniteLossException extends RuntimeException implements AgreedFailure {
    private final long step;

    public NonFiniteLossException(long step, String message) {
        super(message);
        this.step = step;
    }

    /** The optimizer step (1-based) whose loss was not finite. */
    public long step() {
        return step;
    }
}
