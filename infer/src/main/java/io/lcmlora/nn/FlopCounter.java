package io.lcmlora.nn;

import ai.djl.ndarray.NDArray;

/**
 * Counts the floating-point operations of the matmul-class ops ({@link Ops#linear}, {@link Ops#conv2d},
 * {@link Ops#attention}) from their shapes while open: 2 per multiply-add, attention as its two matmuls
 * (4·B·H·Tq·Tk·D). Norms, activations and elementwise ops are not counted (they are under 1% of an SDXL UNet's
 * FLOPs). One counter per thread; closed, it costs one volatile read per op.
 */
public final class FlopCounter implements AutoCloseable {
    private static volatile boolean anyOpen;
    private static final ThreadLocal<FlopCounter> CURRENT = new ThreadLocal<>();

    private double flops;

    private FlopCounter() {}

    /** Starts counting on this thread. */
    public static FlopCounter open() {
        if (CURRENT.get() != null) {
            throw new IllegalStateException("a FlopCounter is already open on this thread");
        }
        FlopCounter c = new FlopCounter();
        CURRENT.set(c);
        anyOpen = true;
        return c;
    }

    public double flops() {
        return flops;
    }

    @Override
    public void close() {
        CURRENT.remove();
    }

    private static FlopCounter current() {
        return anyOpen ? CURRENT.get() : null;
    }

    static void linear(NDArray x, NDArray weight) {
        FlopCounter c = current();
        if (c != null) {
            long[] w = weight.getShape().getShape(); // [out, in]
            c.flops += 2.0 * x.getShape().size() * w[0];
        }
    }

    static void conv2d(NDArray x, NDArray weight, int stride, int padding) {
        FlopCounter c = current();
        if (c != null) {
            long[] s = x.getShape().getShape(); // [N, C, H, W]
            long[] w = weight.getShape().getShape(); // [O, C/groups, k, k]
            long ho = (s[2] + 2L * padding - w[2]) / stride + 1;
            long wo = (s[3] + 2L * padding - w[3]) / stride + 1;
            c.flops += 2.0 * s[0] * ho * wo * w[0] * w[1] * w[2] * w[3];
        }
    }

    static void attention(NDArray q, NDArray k) {
        FlopCounter c = current();
        if (c != null) {
            long[] sq = q.getShape().getShape(); // [..., Tq, D]
            long[] sk = k.getShape().getShape(); // [..., Tk, D]
            double batch = q.getShape().size() / (double) (sq[sq.length - 1] * sq[sq.length - 2]);
            c.flops += 4.0 * batch * sq[sq.length - 2] * sk[sk.length - 2] * sq[sq.length - 1];
        }
    }
}
