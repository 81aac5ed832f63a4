package io.lcmlora.train.distill;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Runs a test class with one libtorch intra-op thread, then restores the count. The distill runs are thousands of
 * small ops: on the shared 2-core machines, two OpenMP threads contending with other processes made them 10-30x
 * slower (measured: tiny UNet forward 2.3 s with 2 threads under load vs 85 ms with 1). Child JVMs of these tests
 * get the same count ({@link #JVM_FLAG}), so their numbers are bit-comparable with the parent's.
 */
public final class OneEngineThread implements BeforeAllCallback, AfterAllCallback {
    public static final String JVM_FLAG = "-Dai.djl.pytorch.num_threads=1";
    private static final String KEY = "threads";

    @Override
    public void beforeAll(ExtensionContext context) {
        Engine.getInstance();
        context.getStore(ExtensionContext.Namespace.GLOBAL).put(KEY + context.getUniqueId(), JniUtils.getNumThreads());
        JniUtils.setNumThreads(1);
    }

    @Override
    public void afterAll(ExtensionContext context) {
        Integer before = context.getStore(ExtensionContext.Namespace.GLOBAL).remove(KEY + context.getUniqueId(), Integer.class);
        if (before != null) {
            JniUtils.setNumThreads(before);
        }
    }
}
