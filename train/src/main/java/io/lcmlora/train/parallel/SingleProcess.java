package io.lcmlora.train.parallel;

import ai.djl.ndarray.NDArray;
import java.util.Map;

/** A world of one process: every collective is the identity. */
final class SingleProcess implements World {
    static final SingleProcess INSTANCE = new SingleProcess();

    private SingleProcess() {}

    @Override
    public int rank() {
        return 0;
    }

    @Override
    public int size() {
        return 1;
    }

    @Override
    public int localRank() {
        return 0;
    }

    @Override
    public Reduced averageGradients(Map<String, NDArray> grads, boolean flag) {
        return new Reduced(grads, flag ? 1 : 0);
    }

    @Override
    public double average(double value) {
        return value;
    }

    @Override
    public long[] gather(long value) {
        return new long[] {value};
    }

    @Override
    public void barrier() {}

    @Override
    public void abort(int code) {}

    @Override
    public void close() {}
}
