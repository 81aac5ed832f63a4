package io.lcmlora.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.lcmlora.nn.AdaptableLayer;
import io.lcmlora.nn.Conv2d;
import io.lcmlora.nn.Delta;
import io.lcmlora.nn.Linear;
import io.lcmlora.nn.Ops;
import java.util.Arrays;

/**
 * One LoRA module as an unfused {@link Delta} of its layer: {@code scale * B(A(x))} with
 * {@code scale = weight * alpha / r} (PEFT's order: the product is scaled, not A's output). For a Linear, A and B
 * are linear maps ({@code [r, in]}, {@code [out, r]}); for a Conv2d, A is a conv with the base layer's kernel, stride
 * and padding ({@code [r, in, kh, kw]}) and B a 1x1 conv ({@code [out, r, 1, 1]}).
 *
 * <p>Everything runs through engine ops and engine-owned scalars, so it is safe inside an autograd graph: a trainer
 * may {@code setRequiresGradient(true)} on A and B.
 */
public final class LoraAdapter implements Delta {
    private final AdaptableLayer layer;
    private final NDArray a;
    private final NDArray b;
    private final double alphaOverRank;
    private final Double alpha;
    private final int stride;
    private final int padding;
    private final boolean conv;
    private final NDArray dense;
    private final AdapterKind kind;
    private double weight = 1.0;

    /**
     * A LyCORIS module as a dense weight difference {@code dW} (alpha scaling applied), reshaped to the layer's weight:
     * unfused it runs as the layer's own op with dW ({@code x @ dW^T}, or the conv with the layer's stride and padding)
     * times the adapter weight; fused it adds {@code weight * dW}.
     *
     * @throws LoraException when dW does not have the layer's number of weights
     */
    public static LoraAdapter dense(AdaptableLayer layer, AdapterKind kind, NDArray dW) {
        return new LoraAdapter(layer, kind, dW);
    }

    private LoraAdapter(AdaptableLayer layer, AdapterKind kind, NDArray dW) {
        Shape target = layer.weight().getShape();
        if (dW.getShape().size() != target.size()) {
            throw new LoraException(layer.path() + ": " + kind.label() + " weight difference " + dW.getShape()
                    + " does not fit the layer's weight " + target);
        }
        if (layer instanceof Conv2d c) {
            conv = true;
            stride = c.stride();
            padding = c.padding();
        } else if (layer instanceof Linear) {
            conv = false;
            stride = 1;
            padding = 0;
        } else {
            throw new LoraException(layer.path() + ": " + kind.label() + " needs a Linear or Conv2d layer");
        }
        this.layer = layer;
        this.kind = kind;
        this.dense = dW.reshape(target);
        this.a = null;
        this.b = null;
        this.alpha = null;
        this.alphaOverRank = 1.0;
    }

    /**
     * @param alpha the module's alpha, or null for alpha = rank
     * @throws LoraException when A/B do not fit the layer (the message names the layer and both shapes)
     */
    public LoraAdapter(AdaptableLayer layer, NDArray a, NDArray b, Double alpha) {
        this.layer = layer;
        this.alpha = alpha;
        Shape as = a.getShape();
        Shape bs = b.getShape();
        long r = as.get(0);
        if (layer instanceof Linear l) {
            a = as.dimension() == 4 && as.get(2) == 1 && as.get(3) == 1 ? a.reshape(r, as.get(1)) : a;
            b = bs.dimension() == 4 && bs.get(2) == 1 && bs.get(3) == 1 ? b.reshape(bs.get(0), bs.get(1)) : b;
            require(a.getShape().equals(new Shape(r, l.in())) && b.getShape().equals(new Shape(l.out(), r)), layer, as, bs,
                    "[r, " + l.in() + "] and [" + l.out() + ", r]");
            conv = false;
            stride = 1;
            padding = 0;
        } else if (layer instanceof Conv2d c) {
            a = as.dimension() == 2 && c.kernel() == 1 ? a.reshape(r, as.get(1), 1, 1) : a;
            b = bs.dimension() == 2 ? b.reshape(bs.get(0), bs.get(1), 1, 1) : b;
            require(a.getShape().equals(new Shape(r, c.in(), c.kernel(), c.kernel()))
                    && b.getShape().equals(new Shape(c.out(), r, 1, 1)), layer, as, bs,
                    "[r, " + c.in() + ", " + c.kernel() + ", " + c.kernel() + "] and [" + c.out() + ", r, 1, 1]");
            conv = true;
            stride = c.stride();
            padding = c.padding();
        } else {
            throw new LoraException(layer.path() + ": LoRA needs a Linear or Conv2d layer");
        }
        this.a = a;
        this.b = b;
        this.alphaOverRank = alpha == null ? 1.0 : alpha / r;
        this.dense = null;
        this.kind = AdapterKind.LORA;
    }

    public AdapterKind kind() {
        return kind;
    }

    /** A LyCORIS module's dW in the layer's weight shape (alpha applied, adapter weight not), null for plain LoRA. */
    public NDArray dense() {
        return dense;
    }

    private static void require(boolean ok, AdaptableLayer layer, Shape a, Shape b, String expected) {
        if (!ok) {
            throw new LoraException(layer.path() + ": LoRA A " + a + " / B " + b + " do not fit the layer (expected " + expected + ")");
        }
    }

    public AdaptableLayer layer() {
        return layer;
    }

    public NDArray a() {
        return a;
    }

    public NDArray b() {
        return b;
    }

    /** The stored alpha (null: alpha = rank). */
    public Double alpha() {
        return alpha;
    }

    /** LoRA's rank (0 for a dense LyCORIS module). */
    public int rank() {
        return a == null ? 0 : Math.toIntExact(a.getShape().get(0));
    }

    /** The adapter weight (the user's multiplier, e.g. 0.8 for a style LoRA). */
    public double weight() {
        return weight;
    }

    public void setWeight(double weight) {
        this.weight = weight;
    }

    /** weight * alpha / r. */
    public double scale() {
        return weight * alphaOverRank;
    }

    @Override
    public NDArray apply(NDArray x) {
        if (dense != null) {
            NDArray y = conv ? Conv2d.convolve(x, dense, null, stride, padding) : Ops.linear(x, dense, null);
            return weight == 1.0 ? y : y.mul(Ops.scalar(y, weight));
        }
        NDArray y = conv
                ? Conv2d.convolve(Conv2d.convolve(x, a, null, stride, padding), b, null, 1, 0) // [B, Cin, H, W] -> [B, r, H', W'] -> [B, Cout, H', W']
                : Ops.linear(Ops.linear(x, a, null), b, null); // [..., in] -> [..., r] -> [..., out]
        double s = scale();
        return s == 1.0 ? y : y.mul(Ops.scalar(y, s));
    }

    /**
     * {@code scale * B @ A} in the base weight's shape, computed in float32: Linear {@code [out, in]}; Conv2d
     * {@code (B[:, :, 0, 0] @ A.reshape(r, -1)).reshape(out, in, kh, kw)}.
     */
    public NDArray deltaWeight() {
        if (dense != null) {
            NDArray d = dense.toType(DataType.FLOAT32, false);
            return weight == 1.0 ? d : d.mul(Ops.scalar(d, weight));
        }
        NDArray a32 = a.toType(DataType.FLOAT32, false);
        NDArray b32 = b.toType(DataType.FLOAT32, false);
        long r = a.getShape().get(0);
        NDArray d = conv
                ? b32.reshape(b.getShape().get(0), r).matMul(a32.reshape(r, -1)).reshape(layer.weight().getShape())
                : b32.matMul(a32);
        double s = scale();
        return s == 1.0 ? d : d.mul(Ops.scalar(d, s));
    }

    @Override
    public String toString() {
        if (dense != null) {
            return "LoraAdapter[" + layer.path() + ", " + kind.label() + ", weight " + weight + "]";
        }
        return "LoraAdapter[" + layer.path() + ", rank " + rank() + ", alpha " + alpha + ", weight " + weight + ", A "
                + Arrays.toString(a.getShape().getShape()) + "]";
    }
}
