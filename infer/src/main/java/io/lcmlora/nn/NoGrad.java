package io.lcmlora.nn;

import ai.djl.pytorch.jni.JniUtils;

/**
 * Turns torch grad mode off on this thread until closed, then restores the previous mode (torch.no_grad()).
 * Grad mode is thread-local in libtorch.
 */
public final class NoGrad implements AutoCloseable {
    private final boolean previous;

    private NoGrad() {
        previous = JniUtils.isGradMode();
        JniUtils.setGradMode(false);
    }

    public static NoGrad open() {
        return new NoGrad();
    }

    @Override
    public void close() {
        JniUtils.setGradMode(previous);
    }
}
