package io.lcmlora.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.lcmlora.nn.AdaptableLayer;
import io.lcmlora.nn.Conv2d;
import io.lcmlora.nn.Linear;
import io.lcmlora.nn.Ops;
import io.lcmlora.nn.Weights;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** LoRA deltas against the merged-weight formula, and gradients to A/B (what the distillation trainer needs). */
class LoraAdapterTest {
    static double maxAbs(NDArray a, NDArray b) {
        return a.sub(b).abs().max().getFloat();
    }

    @Test
    void linearDeltaEqualsMergedWeightAndGradientsReachAAndB() {
        try (NDManager m = NDManager.newBaseManager()) {
            Engine.getInstance().setRandomSeed(11);
            NDArray w = m.randomNormal(new Shape(6, 5));
            NDArray bias = m.randomNormal(new Shape(6));
            Linear lin = new Linear(Weights.of(m, Map.of("l.weight", w, "l.bias", bias), "test").pp("l"), 5, 6, true);
            NDArray a = m.randomNormal(new Shape(3, 5));
            NDArray b = m.randomNormal(new Shape(6, 3));
            a.setRequiresGradient(true);
            b.setRequiresGradient(true);
            LoraAdapter lora = new LoraAdapter(lin, a, b, 1.5); // scale 1.5 / 3 = 0.5, times weight 0.8
            lora.setWeight(0.8);
            lin.addDelta(lora);
            NDArray x = m.randomNormal(new Shape(2, 4, 5));
            NDArray y;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                y = lin.forward(x);
                gc.backward(y.sum());
            }
            NDArray merged = w.add(b.matMul(a).mul(0.4f));
            assertTrue(maxAbs(y, Ops.linear(x, merged, bias)) < 1e-5);
            // d sum(y) / dB[o, r] = 0.4 * sum_n (A x_n)[r];  d sum(y) / dA[r, i] = 0.4 * (sum_o B[o, r]) * sum_n x_n[i]
            NDArray xs = x.reshape(8, 5).sum(new int[] {0});
            NDArray gB = a.matMul(xs.reshape(5, 1)).reshape(1, 3).broadcast(6, 3).mul(0.4f);
            NDArray gA = b.sum(new int[] {0}).reshape(3, 1).matMul(xs.reshape(1, 5)).mul(0.4f);
            assertTrue(maxAbs(b.getGradient(), gB) < 1e-4, "grad B");
            assertTrue(maxAbs(a.getGradient(), gA) < 1e-4, "grad A");
        }
    }

    @Test
    void convDeltaUsesTheBaseStrideAndPaddingAndEqualsTheMergedKernel() {
        try (NDManager m = NDManager.newBaseManager()) {
            Engine.getInstance().setRandomSeed(12);
            NDArray w = m.randomNormal(new Shape(20, 7, 3, 3));
            NDArray bias = m.randomNormal(new Shape(20));
            Conv2d conv = new Conv2d(Weights.of(m, Map.of("c.weight", w, "c.bias", bias), "test").pp("c"), 7, 20, 3, 2, 1);
            NDArray a = m.randomNormal(new Shape(4, 7, 3, 3)); // 4 output channels: the CPU padding path
            NDArray b = m.randomNormal(new Shape(20, 4, 1, 1));
            LoraAdapter lora = new LoraAdapter(conv, a, b, null);
            NDArray x = m.randomNormal(new Shape(2, 7, 9, 9));
            x.setRequiresGradient(true);
            conv.addDelta(lora);
            NDArray y;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                y = conv.forward(x);
                gc.backward(y.sum());
            }
            assertEquals(new Shape(2, 20, 5, 5), y.getShape());
            NDArray merged = w.add(b.reshape(20, 4).matMul(a.reshape(4, -1)).reshape(20, 7, 3, 3));
            assertTrue(maxAbs(y, Ops.conv2d(x, merged, bias, 2, 1)) < 1e-4);
            assertTrue(maxAbs(lora.deltaWeight(), merged.sub(w)) < 1e-5);
            float g = x.getGradient().abs().sum().getFloat();
            assertTrue(Float.isFinite(g) && g > 0);
        }
    }

    @Test
    void shapesThatDoNotFitTheLayerAreErrorsNamingIt() {
        try (NDManager m = NDManager.newBaseManager()) {
            Linear lin = new Linear(Weights.of(m, Map.of("q.weight", m.zeros(new Shape(6, 5))), "test").pp("q"), 5, 6, false);
            LoraException e = assertThrows(LoraException.class,
                    () -> new LoraAdapter(lin, m.zeros(new Shape(2, 4)), m.zeros(new Shape(6, 2)), null));
            assertTrue(e.getMessage().startsWith("q: LoRA A"), e.getMessage());
            // a [r, in, 1, 1] A on a Linear (1x1-conv spelling) is accepted
            assertEquals(new Shape(2, 5), new LoraAdapter(lin, m.zeros(new Shape(2, 5, 1, 1)), m.zeros(new Shape(6, 2, 1, 1)), null)
                    .a().getShape());
        }
    }

    @Test
    void fuseUnfuseKeepsTheOriginalArray() {
        try (NDManager m = NDManager.newBaseManager()) {
            Engine.getInstance().setRandomSeed(13);
            NDArray w = m.randomNormal(new Shape(6, 5));
            Linear lin = new Linear(Weights.of(m, Map.of("l.weight", w), "test").pp("l"), 5, 6, false);
            Map<String, AdaptableLayer> layers = Map.of("l", lin);
            Adapters ad = new Adapters(LoraComponent.UNET, layers);
            NDArray a = m.randomNormal(new Shape(2, 5));
            NDArray b = m.randomNormal(new Shape(6, 2));
            ad.add("x", Map.of("l", new LoraAdapter(lin, a, b, 4.0)), 1.0); // scale 2
            float[] before = w.toFloatArray();
            ad.fuse("x");
            assertTrue(maxAbs(lin.weight(), w.add(b.matMul(a).mul(2f))) < 1e-5);
            assertTrue(lin.deltas().isEmpty());
            ad.unfuse();
            assertSame(w, lin.weight());
            assertArrayEquals(before, lin.weight().toFloatArray());
            assertEquals(1, lin.deltas().size());
            assertThrows(LoraException.class, () -> ad.add("x", Map.of(), 1.0));
            assertThrows(LoraException.class, () -> ad.fuse("nope"));
        }
    }
}
