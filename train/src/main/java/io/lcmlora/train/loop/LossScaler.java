package io.lcmlora.train.loop;

/**
 * Dynamic loss scaling for fp16 compute, with the semantics of torch's {@code GradScaler}: the loss is multiplied by
 * {@link #scale()} before backward; an update whose unscaled gradients are not finite is skipped and the scale halved;
 * after {@value #GROWTH_INTERVAL} finite updates in a row the scale doubles. {@link #none()} (fp32, bf16) never scales
 * and never skips: a non-finite gradient there is an error, not an overflow.
 */
public final class LossScaler {
    public static final double GROWTH_FACTOR = 2.0;
    public static final double BACKOFF_FACTOR = 0.5;
    public static final int GROWTH_INTERVAL = 2000;
    /** Below this the gradients overflow even unscaled: stop instead of shrinking forever. */
    public static final double MIN_SCALE = 1.0;

    private final boolean dynamic;
    private double scale;
    private int finiteInARow;

    private LossScaler(boolean dynamic, double scale) {
        if (!(scale >= MIN_SCALE) || Double.isInfinite(scale)) {
            throw new IllegalArgumentException("loss scale must be finite and >= " + MIN_SCALE + ", got " + scale);
        }
        this.dynamic = dynamic;
        this.scale = scale;
    }

    /** fp16: starts at {@code initial} (precision.loss_scale). */
    public static LossScaler dynamic(double initial) {
        return new LossScaler(true, initial);
    }

    /** No scaling (fp32, bf16). */
    public static LossScaler none() {
        return new LossScaler(false, 1.0);
    }

    public boolean isDynamic() {
        return dynamic;
    }

    public double scale() {
        return scale;
    }

    /**
     * Records whether this update's gradients were finite; returns true when the update must be skipped (a
     * dynamic scaler after an overflow, which also halves the scale).
     *
     * @throws IllegalStateException when the gradients are not finite and cannot be rescued (no dynamic scaling, or
     *     the scale would drop below {@link #MIN_SCALE})
     */
    public boolean skip(boolean finite) {
        if (finite) {
            if (dynamic && ++finiteInARow == GROWTH_INTERVAL) {
                scale *= GROWTH_FACTOR;
                finiteInARow = 0;
            }
            return false;
        }
        if (!dynamic) {
            throw new IllegalStateException("non-finite gradients without loss scaling");
        }
        double next = scale * BACKOFF_FACTOR;
        if (next < MIN_SCALE) {
            throw new IllegalStateException("non-finite gradients at loss scale " + scale
                    + ": they overflow even unscaled");
        }
        scale = next;
        finiteInARow = 0;
        return true;
    }
}
