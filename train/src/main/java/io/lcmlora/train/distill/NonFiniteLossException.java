package io.lcmlora.train.distill;

/** A NaN or infinite loss (or gradient norm): the run stops; nothing of that step was applied. */
public final class NonFiniteLossException extends RuntimeException {
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
