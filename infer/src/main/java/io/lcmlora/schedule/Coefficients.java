package io.lcmlora.schedule;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;

/** Per-sample schedule coefficients as engine arrays that broadcast over a sample. */
public final class Coefficients {
    private Coefficients() {}

    /**
     * {@code values[b]} as a [B, 1, ..., 1] array with {@code like}'s rank, dtype and device, in torch-owned memory
     * (a clone, not a view of a Java buffer), so it is safe to save in an autograd graph (DJL notes, trap 2).
     */
    public static NDArray column(NDArray like, float[] values) {
        long[] shape = new long[like.getShape().dimension()];
        Arrays.fill(shape, 1);
        shape[0] = values.length;
        try (NDArray host = like.getManager().create(values, new Shape(shape))) {
            return like.getDataType() == host.getDataType() ? host.duplicate() : host.toType(like.getDataType(), false);
        }
    }

    /** The same value for every sample: a torch-owned 0-dim array of {@code like}'s dtype. */
    public static NDArray scalar(NDArray like, float value) {
        return like.getManager().full(new Shape(), value, like.getDataType());
    }

    /** Checks that a flat [B, ...] buffer splits evenly into {@code batch} samples; returns the per-sample size. */
    static int perSample(int length, int batch, String what) {
        if (batch < 1 || length % batch != 0) {
            throw new IllegalArgumentException(what + ": " + length + " values do not split into " + batch + " samples");
        }
        return length / batch;
    }
}
