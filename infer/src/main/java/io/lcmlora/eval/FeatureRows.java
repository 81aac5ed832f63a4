package io.lcmlora.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

/** Host copies of [N, D] feature arrays. */
final class FeatureRows {
    private FeatureRows() {}

    /** A float [N, D] array as N rows of doubles (widened exactly). */
    static double[][] toRows(NDArray features) {
        if (features.getShape().dimension() != 2) {
            throw new IllegalArgumentException("features must be [N, D], got " + features.getShape());
        }
        int n = Math.toIntExact(features.getShape().get(0));
        int d = Math.toIntExact(features.getShape().get(1));
        double[] flat = features.toType(DataType.FLOAT64, false).toDoubleArray();
        double[][] rows = new double[n][d];
        for (int i = 0; i < n; i++) {
            System.arraycopy(flat, i * d, rows[i], 0, d);
        }
        return rows;
    }
}
