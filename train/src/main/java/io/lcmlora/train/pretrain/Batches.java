package io.lcmlora.train.pretrain;

import io.lcmlora.train.loop.Rng;

/** Mini-batch indices: epochs of a seeded permutation, batches cut across epoch boundaries. */
final class Batches {
    private final int n;
    private final Rng rng;
    private int[] order;
    private int pos;

    Batches(int n, Rng rng) {
        if (n < 1) {
            throw new IllegalArgumentException("no training samples");
        }
        this.n = n;
        this.rng = rng;
        this.order = rng.permutation(n);
    }

    int[] next(int batchSize) {
        int[] idx = new int[batchSize];
        for (int i = 0; i < batchSize; i++) {
            if (pos == n) {
                order = rng.permutation(n);
                pos = 0;
            }
            idx[i] = order[pos++];
        }
        return idx;
    }

    /** Rows {@code idx} of a row-major [N, row] array. */
    static float[] gather(float[] data, int row, int[] idx) {
        float[] out = new float[idx.length * row];
        for (int i = 0; i < idx.length; i++) {
            System.arraycopy(data, idx[i] * row, out, i * row, row);
        }
        return out;
    }
}
