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

    @Test
    void siluMatchesClosedFormWithAndWithoutGradients() {
        try (NDManager m = NDManager.newBaseManager()) {
            float[] xs = {-3f, -0.5f, 0f, 0.7f, 2.5f};
            NDArray x = m.create(xs);
            float[] noGrad = Ops.silu(x).toFloatArray();
            x.setRequiresGradient(true);
            float[] withGrad;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray y = Ops.silu(x);
                withGrad = y.toFloatArray();
                gc.backward(y.sum());
            }
            float[] g = x.getGradient().toFloatArray();
            for (int i = 0; i < xs.length; i++) {
                double sig = 1 / (1 + Math.exp(-xs[i]));
                assertEquals(withGrad[i], noGrad[i], 0); // the same bits with and without gradients
                assertEquals(xs[i] * sig, noGrad[i], 1e-6);
                assertEquals(xs[i] * sig, withGrad[i], 1e-6);
                assertEquals(sig * (1 + xs[i] * (1 - sig)), g[i], 1e-6); // d/dx x sigmoid(x)
            }
        }
    }

    @Test
    void groupNormGradientMatchesComposedFormula() {
        try (NDManager m = NDManager.newBaseManager()) {
            Engine.getInstance().setRandomSeed(5);
            NDArray x = m.randomNormal(new Shape(2, 6, 3, 2));
            NDArray w = m.randomNormal(new Shape(6));
            NDArray b = m.randomNormal(new Shape(6));
            NDArray probe = m.randomNormal(new Shape(2, 6, 3, 2));
            float[] fused = gradOfWeightedSum(x, probe, xx -> Ops.groupNorm(xx, 3, w, b, 1e-5));
            float[] composed = gradOfWeightedSum(x, probe, xx -> {
                NDArray g = xx.reshape(2, 3, -1);
                NDArray mean = g.mean(new int[] {2}, true);
                NDArray c = g.sub(mean);
                NDArray var = c.square().mean(new int[] {2}, true);
                return c.div(var.add(Ops.scalar(var, 1e-5)).sqrt()).reshape(2, 6, 3, 2)
                        .mul(w.reshape(1, 6, 1, 1)).add(b.reshape(1, 6, 1, 1));
            });
            for (int i = 0; i < fused.length; i++) {
                assertEquals(composed[i], fused[i], 1e-4);
            }
        }
    }

    @Test
    void linearOnThreeDimensionsMatchesRowByRowAndItsGradient() {
        try (NDManager m = NDManager.newBaseManager()) {
            Engine.getInstance().setRandomSeed(6);
            NDArray x = m.randomNormal(new Shape(2, 5, 4));
            NDArray w = m.randomNormal(new Shape(3, 4));
            NDArray b = m.randomNormal(new Shape(3));
            NDArray y = Ops.linear(x, w, b); // flattened to [10, 4]: addmm
            assertEquals(new Shape(2, 5, 3), y.getShape());
            NDArray ref = x.matMul(w.transpose()).add(b);
            assertTrue(y.sub(ref).abs().max().getFloat() < 1e-5f);
            NDArray probe = m.randomNormal(new Shape(2, 5, 3));
            float[] g = gradOfWeightedSum(x, probe, xx -> Ops.linear(xx, w, b));
            float[] expected = probe.matMul(w).toFloatArray(); // d(sum(probe * (x W^T + b)))/dx = probe W
            for (int i = 0; i < g.length; i++) {
                assertEquals(expected[i], g[i], 1e-5);
            }
        }
    }

    @Test
    void multiHeadAttentionMatchesPerHeadAttentionWithGradient() {
        try (NDManager m = NDManager.newBaseManager()) {
            Engine.getInstance().setRandomSeed(8);
            NDArray q = m.randomNormal(new Shape(2, 7, 6)); // 3 heads of 2 channels
            NDArray k = m.randomNormal(new Shape(2, 5, 6));
            NDArray v = m.randomNormal(new Shape(2, 5, 6));
            NDArray probe = m.randomNormal(new Shape(2, 7, 6));
            java.util.function.UnaryOperator<NDArray> split = t -> t.reshape(2, -1, 3, 2).transpose(0, 2, 1, 3);
            java.util.function.UnaryOperator<NDArray> perHead = qq -> Ops.attention(split.apply(qq), split.apply(k),
                    split.apply(v)).transpose(0, 2, 1, 3).reshape(2, 7, 6);
            NDArray y = Ops.multiHeadAttention(q, k, v, 3); // no gradients: heads split inside the TorchScript call
            assertEquals(new Shape(2, 7, 6), y.getShape());
            assertTrue(y.sub(perHead.apply(q)).abs().max().getFloat() < 1e-5f);
            NDArray withGrad;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                withGrad = Ops.multiHeadAttention(q, k, v, 3); // gradients: split here, one SDPA call
            }
            assertEquals(0f, y.sub(withGrad).abs().max().getFloat()); // the same bits either way
            float[] g = gradOfWeightedSum(q, probe, qq -> Ops.multiHeadAttention(qq, k, v, 3));
            float[] ref = gradOfWeightedSum(q, probe, perHead);
            for (int i = 0; i < g.length; i++) {
                assertEquals(ref[i], g[i], 1e-5);
            }
        }
    }

    /** d(sum(probe * f(x)))/dx. */
    private static float[] gradOfWeightedSum(NDArray x0, NDArray probe, java.util.function.UnaryOperator<NDArray> f) {
        NDArray x = x0.duplicate();
        x.setRequiresGradient(true);
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            gc.backward(f.apply(x).mul(probe).sum());
        }
        return x.getGradient().toFloatArray();
    }
}
