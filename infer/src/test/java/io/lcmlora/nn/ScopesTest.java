package io.lcmlora.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import org.junit.jupiter.api.Test;

class ScopesTest {
    /** The result survives, every other array the pass made is closed, and the result belongs to the outer scope. */
    @Test
    void keepsOnlyTheResultAndHandsItToTheEnclosingScope() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.create(new float[] {1, 2, 3});
            NDArray[] inner = new NDArray[1];
            NDArray kept;
            try (NDScope outer = new NDScope()) {
                kept = Scopes.keepOnly(() -> {
                    inner[0] = x.mul(x);
                    return inner[0].add(x);
                });
                assertArrayEquals(new float[] {2, 6, 12}, kept.toFloatArray());
                assertThrows(IllegalStateException.class, () -> inner[0].toFloatArray());
            }
            assertThrows(IllegalStateException.class, kept::toFloatArray);
            assertArrayEquals(new float[] {1, 2, 3}, x.toFloatArray());
        }
    }

    /**
     * Closing a pass's intermediates before backward leaves autograd intact (it holds its own references): the
     * gradient of sum(silu(w x) * x) through a closed-off pass and a ResnetBlock-style chain of closed intermediates
     * matches the closed form d/dw = sum(x^2 sigmoid(wx) (1 + wx (1 - sigmoid(wx)))).
     */
    @Test
    void gradientsThroughClosedIntermediatesMatchTheClosedForm() {
        try (NDManager m = NDManager.newBaseManager()) {
            Engine.getInstance().setRandomSeed(5);
            float[] xs = m.randomNormal(new Shape(64)).toFloatArray();
            NDArray x = m.create(xs);
            NDArray w = m.create(new float[] {0.7f});
            w.setRequiresGradient(true);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray y = Scopes.keepOnly(() -> {
                    NDArray wx = x.mul(w);
                    NDArray a = Ops.silu(wx);
                    wx.close();
                    NDArray p = a.mul(x);
                    a.close();
                    return p;
                });
                System.gc();
                gc.backward(y.sum());
            }
            double want = 0;
            for (float v : xs) {
                double wx = 0.7 * v;
                double s = 1 / (1 + Math.exp(-wx));
                want += v * v * s * (1 + wx * (1 - s));
            }
            float got = w.getGradient().getFloat();
            assertEquals(want, got, 1e-4 * Math.max(1, Math.abs(want)));
            assertFalse(Float.isNaN(got));
            assertTrue(Math.abs(got) > 0);
        }
    }
}
