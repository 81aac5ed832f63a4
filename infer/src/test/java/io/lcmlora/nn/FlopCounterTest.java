package io.lcmlora.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

/** FLOPs of the matmul-class ops from their shapes, against closed-form counts. */
class FlopCounterTest {
    @Test
    void countsConvLinearAndAttentionOnlyWhileOpen() {
        try (NDManager m = NDManager.newBaseManager()) {
            var x = m.randomNormal(new Shape(2, 3, 8, 8));
            var w = m.randomNormal(new Shape(5, 3, 3, 3));
            var t = m.randomNormal(new Shape(4, 7, 16));
            var lw = m.randomNormal(new Shape(32, 16));
            var q = m.randomNormal(new Shape(1, 2, 10, 8));
            var k = m.randomNormal(new Shape(1, 2, 6, 8));
            Ops.conv2d(x, w, null, 1, 1); // not counted: no counter open
            try (FlopCounter c = FlopCounter.open()) {
                Ops.conv2d(x, w, null, 1, 1);
                assertEquals(2.0 * 2 * 8 * 8 * 5 * 3 * 3 * 3, c.flops());
                Ops.conv2d(x, w, null, 2, 1); // 8 -> 4
                assertEquals(2.0 * 2 * 8 * 8 * 5 * 27 + 2.0 * 2 * 4 * 4 * 5 * 27, c.flops());
                double before = c.flops();
                Ops.linear(t, lw, null);
                assertEquals(before + 2.0 * 4 * 7 * 16 * 32, c.flops());
                before = c.flops();
                Ops.attention(q, k, k);
                assertEquals(before + 4.0 * 2 * 10 * 6 * 8, c.flops());
                assertThrows(IllegalStateException.class, FlopCounter::open);
            }
            try (FlopCounter c = FlopCounter.open()) {
                assertEquals(0, c.flops(), "a new counter starts at zero");
            }
        }
    }
}
