package io.lcmlora.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import org.junit.jupiter.api.Test;

class OpsTest {
    @Test
    void groupNormMatchesMeanVarFormula() {
        try (NDManager m = NDManager.newBaseManager()) {
            Engine.getInstance().setRandomSeed(3);
            NDArray x = m.randomNormal(new Shape(2, 8, 5, 3));
            NDArray w = m.randomNormal(new Shape(8));
            NDArray b = m.randomNormal(new Shape(8));
            NDArray y = Ops.groupNorm(x, 4, w, b, 1e-5);
            NDArray g = x.reshape(2, 4, -1);
            NDArray mean = g.mean(new int[] {2}, true);
            NDArray var = g.sub(mean).square().mean(new int[] {2}, true);
            NDArray ref = g.sub(mean).div(var.add(1e-5f).sqrt()).reshape(2, 8, 5, 3)
                    .mul(w.reshape(1, 8, 1, 1)).add(b.reshape(1, 8, 1, 1));
            assertTrue(y.sub(ref).abs().max().getFloat() < 1e-5f);
        }
    }

    @Test
    void attentionMatchesSoftmaxFormulaWithGradient() {
        try (NDManager m = NDManager.newBaseManager()) {
            Engine.getInstance().setRandomSeed(4);
            NDArray q = m.randomNormal(new Shape(2, 3, 7, 4));
            NDArray k = m.randomNormal(new Shape(2, 3, 5, 4));
            NDArray v = m.randomNormal(new Shape(2, 3, 5, 4));
            q.setRequiresGradient(true);
            NDArray out;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                out = Ops.attention(q, k, v);
                gc.backward(out.sum());
            }
            NDArray ref = q.matMul(k.transpose(0, 1, 3, 2)).div(2f).softmax(-1).matMul(v);
            assertTrue(out.sub(ref).abs().max().getFloat() < 1e-5f);
            // d(sum out)/dq is finite and not all zero
            float g = q.getGradient().abs().sum().getFloat();
            assertTrue(g > 0 && Float.isFinite(g));
        }
    }

    @Test
    void siluAndGelu() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.create(new float[] {-2f, 0f, 1.5f});
            float[] s = Ops.silu(x).toFloatArray();
            float[] gl = Ops.gelu(x).toFloatArray();
            float[] xs = {-2f, 0f, 1.5f};
            for (int i = 0; i < 3; i++) {
                assertEquals(xs[i] / (1 + Math.exp(-xs[i])), s[i], 1e-6);
                assertEquals(0.5 * xs[i] * (1 + org.apache.commons.math3.special.Erf.erf(xs[i] / Math.sqrt(2))), gl[i], 1e-6);
            }
        }
    }
}
