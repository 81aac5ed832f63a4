package io.lcmlora.train.loop;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;

/**
 * Dynamic loss scaling for fp16 compute, with the semantics of torch's {@code GradScaler}: the loss is multiplied by
 * {@link #scale()} before backward; an update whose unscaled gradients are not finite is skipped and the scale halved;
 * after {@value #GROWTH_INTERVAL} finite updates in a row the scale doubles. {@link #none()} (fp32, bf16) never scales
 * and never skips: a non-finite gradient there is an error, not an overflow.
 *
 * <p>Its state (scale and growth tracker, torch's {@code GradScaler.state_dict()}) is part of a checkpoint
 * ({@link #state()}, {@link #restore}): without it a resumed fp16 run would start again at the initial scale and
 * skip (or apply) different updates than the uninterrupted run.
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

    /** Finite updates in a row since the last change of scale (torch's {@code _growth_tracker}). */
    public int growthTracker() {
        return finiteInARow;
    }

    /** {@code {"dynamic": bool, "scale": double, "growth_tracker": int}}: what {@link #restore} reads back. */
    public JsonObject state() {
        JsonObject o = new JsonObject();
        o.addProperty("dynamic", dynamic);
        o.addProperty("scale", scale);
        o.addProperty("growth_tracker", finiteInARow);
        return o;
    }

    /**
     * Continues from a saved {@link #state()}. A dynamic scaler takes the saved scale and growth tracker; a saved
     * state without dynamic scaling (an fp32/bf16 run resumed with fp16 weights, or the reverse) leaves this scaler
     * as it is and returns false, so the caller can say so.
     *
     * @param where names the saved state in messages (file and key)
     * @throws IllegalArgumentException naming {@code where} when the state is malformed or out of range
     */
    public boolean restore(JsonObject saved, String where) {
        boolean savedDynamic = bool(saved, "dynamic", where);
        if (!dynamic || !savedDynamic) {
            return false;
        }
        double s = number(saved, "scale", where).doubleValue();
        double g = number(saved, "growth_tracker", where).doubleValue();
        if (!(s >= MIN_SCALE) || Double.isInfinite(s)) {
            throw new IllegalArgumentException(where + ".scale: expected a finite number >= " + MIN_SCALE + ", got " + s);
        }
        if (!(g >= 0 && g < GROWTH_INTERVAL && g == Math.rint(g))) {
            throw new IllegalArgumentException(where + ".growth_tracker: expected an integer in [0, " + GROWTH_INTERVAL
                    + "), got " + g);
        }
        scale = s;
        finiteInARow = (int) g;
        return true;
    }

    private static boolean bool(JsonObject o, String key, String where) {
        JsonElement e = o.get(key);
        if (e == null || !e.isJsonPrimitive() || !e.getAsJsonPrimitive().isBoolean()) {
            throw new IllegalArgumentException(where + "." + key + ": expected true or false, got " + e);
        }
        return e.getAsBoolean();
    }

    private static Number number(JsonObject o, String key, String where) {
        JsonElement e = o.get(key);
        if (e == null || !e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber()) {
            throw new IllegalArgumentException(where + "." + key + ": expected a number, got " + e);
        }
        return e.getAsNumber();
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
