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
    /** DoRA: the magnitude (float32) shaped to broadcast against the weight ([1, in(, 1, 1)] or [out, 1(, 1, 1)]). */
    private final NDArray magnitude;
    private final DoraAxis doraAxis;
    /** LoCon Tucker core [r, r, kh, kw] between A (1x1 down) and B (1x1 up), or null. */
    private final NDArray mid;
    /** A bias difference [out] ({@code diff_b}) added as {@code weight * biasDiff}, or null. */
    private NDArray biasDiff;
    private double weight = 1.0;

    /**
     * A LoCon module with a Tucker core (LyCORIS {@code use_tucker}): {@code down} [r, in, 1, 1] (or [r, in]),
     * {@code mid} [r, r, k, k] with the conv's kernel, {@code up} [out, r, 1, 1]. Unfused it runs as LyCORIS does,
     * down (1x1), mid (the layer's stride and padding), up (1x1), times weight * alpha / r; fused it adds
     * {@code weight * alpha / r * dW}, dW[p, q, k, l] = sum_ij up[p, i] mid[i, j, k, l] down[j, q] (ComfyUI).
     */
    public static LoraAdapter tucker(AdaptableLayer layer, NDArray down, NDArray mid, NDArray up, Double alpha) {
        return new LoraAdapter(layer, down, up, alpha, null, null, mid);
    }

    /** A module whose only change is a bias difference; give it with {@link #setBiasDiff}. */
    public static LoraAdapter biasOnly(AdaptableLayer layer) {
        return new LoraAdapter(layer, AdapterKind.BIAS_DIFF, null);
    }

    /**
     * A DoRA module ({@link DoraAxis}): the LoRA pair A/B re-normalised by {@code magnitude} ({@code in} values for
     * {@link DoraAxis#INPUT}, {@code out} for {@link DoraAxis#OUTPUT}). Unfused it runs the reference's runtime form
     * against the layer's current weight; fused it replaces W by the re-normalised weight. The norm is taken of the
     * layer's weight at that moment (fused adapters before it included), as both references do.
     */
    public static LoraAdapter dora(AdaptableLayer layer, NDArray a, NDArray b, Double alpha, NDArray magnitude, DoraAxis axis) {
        return new LoraAdapter(layer, a, b, alpha, magnitude, axis, null);
    }

    /** {@link #dora} whose low-rank term is a LoCon Tucker product when {@code mid} is non-null (see {@link #tucker}). */
    public static LoraAdapter dora(AdaptableLayer layer, NDArray a, NDArray b, Double alpha, NDArray magnitude, DoraAxis axis,
            NDArray mid) {
        return new LoraAdapter(layer, a, b, alpha, magnitude, axis, mid);
    }

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
        if (dW != null && dW.getShape().size() != target.size()) {
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
        this.dense = dW == null ? null : dW.reshape(target);
        this.a = null;
        this.b = null;
        this.alpha = null;
        this.alphaOverRank = 1.0;
        this.magnitude = null;
        this.doraAxis = null;
        this.mid = null;
    }

    /**
     * @param alpha the module's alpha, or null for alpha = rank
     * @throws LoraException when A/B do not fit the layer (the message names the layer and both shapes)
     */
    public LoraAdapter(AdaptableLayer layer, NDArray a, NDArray b, Double alpha) {
        this(layer, a, b, alpha, null, null, null);
    }

    private LoraAdapter(AdaptableLayer layer, NDArray a, NDArray b, Double alpha, NDArray magnitude, DoraAxis axis, NDArray mid) {
        this.layer = layer;
        this.alpha = alpha;
        Shape as = a.getShape();
        Shape bs = b.getShape();
        long r = as.get(0);
        if (mid != null) {
            // down [r, in(, 1, 1)] -> [r, in, 1, 1]; mid [r_up, r, k, k] carries the conv's kernel; up [out, r_up(, 1, 1)]
            Shape ms = mid.getShape();
            if (!(layer instanceof Conv2d c)) {
                throw new LoraException(layer.path() + ": a LoCon Tucker core (lora_mid " + ms + ") needs a Conv2d layer");
            }
            a = as.dimension() == 2 ? a.reshape(r, as.get(1), 1, 1) : a;
            b = bs.dimension() == 2 ? b.reshape(bs.get(0), bs.get(1), 1, 1) : b;
            if (!a.getShape().equals(new Shape(r, c.in(), 1, 1)) || !b.getShape().equals(new Shape(c.out(), ms.get(0), 1, 1))
                    || !ms.equals(new Shape(ms.get(0), r, c.kernel(), c.kernel()))) {
                throw new LoraException(layer.path() + ": LoCon Tucker down " + as + " / mid " + ms + " / up " + bs
                        + " do not fit the layer (expected [r, " + c.in() + ", 1, 1], [r', r, " + c.kernel() + ", " + c.kernel()
                        + "] and [" + c.out() + ", r', 1, 1])");
            }
            conv = true;
            stride = c.stride();
            padding = c.padding();
        } else if (layer instanceof Linear l) {
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
        this.mid = mid;
        this.kind = magnitude != null ? AdapterKind.DORA : mid != null ? AdapterKind.LOCON_TUCKER : AdapterKind.LORA;
        this.doraAxis = axis;
        if (magnitude == null) {
            this.magnitude = null;
        } else {
            Shape w = layer.weight().getShape();
            long n = switch (axis) {
                case INPUT -> w.get(1);
                case OUTPUT -> w.get(0);
            };
            if (magnitude.getShape().size() != n) {
                throw new LoraException(layer.path() + ": DoRA magnitude " + magnitude.getShape() + " needs " + n + " values ("
                        + axis.name().toLowerCase(java.util.Locale.ROOT) + " channels of the weight " + w + ")");
            }
            long[] shape = new long[w.dimension()];
            java.util.Arrays.fill(shape, 1);
            shape[axis == DoraAxis.INPUT ? 1 : 0] = n;
            this.magnitude = magnitude.toType(DataType.FLOAT32, false).reshape(new Shape(shape));
        }
    }

    public DoraAxis doraAxis() {
        return doraAxis;
    }

    /** ||v|| along {@code axis}'s channels, keepdims: INPUT over every axis but 1, OUTPUT over every axis but 0. */
    private static NDArray channelNorm(NDArray v, DoraAxis axis) {
        int nd = v.getShape().dimension();
        int keep = switch (axis) {
            case INPUT -> 1;
            case OUTPUT -> 0;
        };
        int[] axes = java.util.stream.IntStream.range(0, nd).filter(i -> i != keep).toArray();
        return v.square().sum(axes, true).sqrt();
    }

    /**
     * B @ A in the weight's shape, float32, unscaled; with a Tucker core
     * {@code dW[p, q, k, l] = sum_ij up[p, i] mid[i, j, k, l] down[j, q]} ([out, in, k, k]).
     */
    private NDArray lowRankWeight() {
        NDArray a32 = a.toType(DataType.FLOAT32, false);
        NDArray b32 = b.toType(DataType.FLOAT32, false);
        long r = a.getShape().get(0);
        if (mid != null) {
            // up [out, r', 1, 1] -> [r', out] (Tucker's "a" factor), down [r, in, 1, 1] -> [r, in], core [r', r, k, k]
            long rUp = b.getShape().get(1);
            return LycorisDelta.tucker(b32.reshape(b.getShape().get(0), rUp).transpose(), a32.reshape(r, -1),
                    mid.toType(DataType.FLOAT32, false));
        }
        return conv ? b32.reshape(b.getShape().get(0), r).matMul(a32.reshape(r, -1)).reshape(layer.weight().getShape())
                : b32.matMul(a32);
    }

    /**
     * The DoRA per-channel factor c = magnitude / ||V|| (float32, broadcastable against the weight) and V itself:
     * INPUT: V = W + alpha/r * B@A (the adapter weight blends outside); OUTPUT: V = W + weight * alpha/r * B@A.
     */
    private NDArray[] doraFactor(NDArray w32) {
        double s = switch (doraAxis) {
            case INPUT -> alphaOverRank;
            case OUTPUT -> scale();
        };
        NDArray v = w32.add(Ops.mulScalar(lowRankWeight(), s));
        return new NDArray[] {magnitude.div(channelNorm(v, doraAxis)), v};
    }

    /** The layer's own op without bias: x @ W^T, or the conv with its stride and padding. */
    private NDArray op(NDArray x, NDArray w) {
        return conv ? Conv2d.convolve(x, w, null, stride, padding) : Ops.linear(x, w, null);
    }

    /**
     * DoRA unfused, the references' runtime forms with c from the layer's current weight:
     * OUTPUT (peft): {@code (c - 1) * (x W^T) + c * scale * B(A(x))}, c per output channel;
     * INPUT (kohya): {@code weight * ((x * c) V^T - x W^T)}, c per input channel scales x (V = W + alpha/r B@A).
     */
    private NDArray applyDora(NDArray x) {
        NDArray w = layer.weight();
        NDArray c = doraFactor(w.toType(DataType.FLOAT32, false))[0].toType(x.getDataType(), false);
        return switch (doraAxis) {
            case OUTPUT -> {
                // c [out, 1(, 1, 1)] -> the output's channel axis: [out] (linear, last axis) or [1, out, 1, 1] (conv)
                NDArray co = conv ? c.reshape(1, -1, 1, 1) : c.reshape(-1);
                NDArray lora = lowRankOp(x);
                NDArray base = op(x, w);
                yield base.mul(co).sub(base).add(lora.mul(co.mul(Ops.scalar(co, scale()))));
            }
            case INPUT -> {
                // c [1, in(, 1, 1)] -> the input's channel axis: [in] (linear, last axis) or [1, in, 1, 1] (conv)
                NDArray ci = conv ? c : c.reshape(-1);
                NDArray xc = x.mul(ci);
                NDArray lora = lowRankOp(xc);
                NDArray y = op(xc, w).add(alphaOverRank == 1.0 ? lora : lora.mul(Ops.scalar(lora, alphaOverRank))).sub(op(x, w));
                yield weight == 1.0 ? y : y.mul(Ops.scalar(y, weight));
            }
        };
    }

    /** DoRA fused: W' - W from the layer's current weight (float32). */
    private NDArray doraDeltaWeight() {
        NDArray w32 = layer.weight().toType(DataType.FLOAT32, false);
        NDArray[] cv = doraFactor(w32);
        NDArray d = cv[1].mul(cv[0]).sub(w32);
        return switch (doraAxis) {
            case OUTPUT -> d;
            case INPUT -> weight == 1.0 ? d : Ops.mulScalar(d, weight);
        };
    }

    public AdapterKind kind() {
        return kind;
    }

    /** A LyCORIS module's dW in the layer's weight shape (alpha applied, adapter weight not), null for plain LoRA. */
    public NDArray dense() {
        return dense;
    }

    /** The LoCon Tucker core, or null. */
    public NDArray mid() {
        return mid;
    }

    /** The bias difference [out] (adapter weight not applied), or null. */
    public NDArray biasDiff() {
        return biasDiff;
    }

    /**
     * Gives this module a bias difference {@code db} [out] ({@code diff_b}): the layer's bias becomes
     * {@code b + weight * db} (unfused: added to the output; fused: into the bias array).
     *
     * @throws LoraException when the layer has no bias or db does not have one value per output
     */
    public void setBiasDiff(NDArray db) {
        NDArray bias = layer.bias();
        if (bias == null) {
            throw new LoraException(layer.path() + ": a bias difference " + db.getShape() + " needs a layer with a bias; this"
                    + " layer has none");
        }
        if (!db.getShape().equals(bias.getShape())) {
            throw new LoraException(layer.path() + ": bias difference " + db.getShape() + " does not fit the layer's bias "
                    + bias.getShape());
        }
        biasDiff = db;
    }

    /** Whether fusing changes the weight (false for a bias difference alone). */
    public boolean changesWeight() {
        return kind != AdapterKind.BIAS_DIFF;
    }

    /** {@code weight * biasDiff} in float32, or null when the module has no bias difference. */
    public NDArray deltaBias() {
        if (biasDiff == null) {
            return null;
        }
        NDArray d = biasDiff.toType(DataType.FLOAT32, false);
        return weight == 1.0 ? d : Ops.mulScalar(d, weight);
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
        NDArray y = applyWeight(x);
        if (biasDiff == null) {
            return y;
        }
        // db [out] -> the output's channel axis: [out] (linear, last axis) or [1, out, 1, 1] (conv)
        NDArray db = conv ? biasDiff.reshape(1, -1, 1, 1) : biasDiff;
        NDArray wdb = weight == 1.0 ? db : db.mul(Ops.scalar(db, weight));
        return y == null ? wdb : y.add(wdb); // a bias alone broadcasts against the layer's output
    }

    /** The weight part of {@link #apply}; null for a bias difference alone. */
    private NDArray applyWeight(NDArray x) {
        if (magnitude != null) {
            return applyDora(x);
        }
        if (kind == AdapterKind.BIAS_DIFF) {
            return null;
        }
        if (dense != null) {
            NDArray y = conv ? Conv2d.convolve(x, dense, null, stride, padding) : Ops.linear(x, dense, null);
            return weight == 1.0 ? y : y.mul(Ops.scalar(y, weight));
        }
        NDArray y = lowRankOp(x);
        double s = scale();
        return s == 1.0 ? y : y.mul(Ops.scalar(y, s));
    }

    /** The unscaled low-rank op B(A(x)), or B(mid(A(x))) with a Tucker core. */
    private NDArray lowRankOp(NDArray x) {
        return mid != null
                // [B, Cin, H, W] -> down 1x1 [B, r, H, W] -> mid (stride, padding) [B, r', H', W'] -> up 1x1 [B, Cout, H', W']
                ? Conv2d.convolve(Conv2d.convolve(Conv2d.convolve(x, a, null, 1, 0), mid, null, stride, padding), b, null, 1, 0)
                : conv
                ? Conv2d.convolve(Conv2d.convolve(x, a, null, stride, padding), b, null, 1, 0) // [B, Cin, H, W] -> [B, r, H', W'] -> [B, Cout, H', W']
                : Ops.linear(Ops.linear(x, a, null), b, null); // [..., in] -> [..., r] -> [..., out]
    }

    /**
     * {@code scale * B @ A} in the base weight's shape, computed in float32: Linear {@code [out, in]}; Conv2d
     * {@code (B[:, :, 0, 0] @ A.reshape(r, -1)).reshape(out, in, kh, kw)}.
     */
    public NDArray deltaWeight() {
        if (magnitude != null) {
            return doraDeltaWeight();
        }
        if (kind == AdapterKind.BIAS_DIFF) {
            throw new IllegalStateException(layer.path() + ": a bias difference alone has no weight difference (changesWeight())");
        }
        if (mid != null) {
            NDArray d = lowRankWeight();
            double s = scale();
            return s == 1.0 ? d : Ops.mulScalar(d, s);
        }
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
        if (dense != null || a == null) {
            return "LoraAdapter[" + layer.path() + ", " + kind.label() + ", weight " + weight + "]";
        }
        return "LoraAdapter[" + layer.path() + ", rank " + rank() + ", alpha " + alpha + ", weight " + weight + ", A "
                + Arrays.toString(a.getShape().getShape()) + "]";
    }
}
