package io.lcmlora.train.loop;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.List;
import org.junit.jupiter.api.Test;

class GradClipTest {
    @Test
    void clipsByGlobalNormInPlaceOnTheGradients() {
        try (NDManager nd = NDManager.newBaseManager()) {
            NDArray a = nd.create(new float[] {1f, -2f, 3f});
            NDArray b = nd.create(new float[] {-4f, 5f});
            a.setRequiresGradient(true);
            b.setRequiresGradient(true);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                // d/da sum(a * c) = c: gradients [3, -6, 9] and [-8, 10]
                NDArray loss = a.mul(nd.create(new float[] {3f, -6f, 9f})).sum()
                        .add(b.mul(nd.create(new float[] {-8f, 10f})).sum());
                gc.backward(loss);
            }
            double expected = Math.sqrt(9 + 36 + 81 + 64 + 100);
            double norm = GradClip.clipGlobalNorm(List.of(a, b), 1.0);
            assertEquals(expected, norm, 1e-5, "norm " + norm);
            double coef = 1.0 / (expected + 1e-6);
            float[] ga = a.getGradient().toFloatArray();
            float[] gb = b.getGradient().toFloatArray();
            assertArrayEquals(new float[] {(float) (3 * coef), (float) (-6 * coef), (float) (9 * coef)}, ga, 1e-6f);
            assertArrayEquals(new float[] {(float) (-8 * coef), (float) (10 * coef)}, gb, 1e-6f);
            // Below the threshold nothing changes.
            assertEquals(1.0, GradClip.clipGlobalNorm(List.of(a, b), 5.0), 1e-5);
            assertArrayEquals(ga, a.getGradient().toFloatArray());
            assertArrayEquals(gb, b.getGradient().toFloatArray());
        }
    }

    @Test
    void nonFiniteNormLeavesGradientsAlone() {
        try (NDManager nd = NDManager.newBaseManager()) {
            NDArray g = nd.create(new float[] {Float.NaN, 1f});
            double n = GradClip.clipGradients(List.of(g), 1.0);
            assertTrue(Double.isNaN(n));
            assertEquals(1f, g.toFloatArray()[1]);
        }
    }
}
