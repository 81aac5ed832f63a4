package io.lcmlora.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.pytorch.jni.TorchScriptCall;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Tensor operations the model code uses, in one place. Ops DJL 0.36 lacks (group_norm, fused
 * scaled-dot-product attention, SiLU, GELU variants, a differentiable cast) come from a TorchScript module
 * written here at first use; they run with autograd, called through {@link TorchScriptCall} (tensor and primitive
 * arguments, no per-call marker or name parsing). Scalars inside the graph are engine-owned 0-dim arrays: DJL's
 * {@code x.mul(3f)} frees its scalar while autograd still holds it (see the engine notes).
 */
public final class Ops {
    private Ops() {}

    private static final String METHODS = ""
            + "  def forward(self: __torch__.LcmOps, x: Tensor) -> Tensor:\n"
            + "    return x\n"
            + "  def group_norm(self: __torch__.LcmOps, x: Tensor, w: Tensor, b: Tensor, groups: int, eps: float) -> Tensor:\n"
            + "    return torch.group_norm(x, groups, w, b, eps)\n"
            + "SDPA"
            + "  def silu(self: __torch__.LcmOps, x: Tensor) -> Tensor:\n"
            + "    return torch.silu(x)\n"
            + "  def gelu_tanh(self: __torch__.LcmOps, x: Tensor) -> Tensor:\n"
            + "    return torch.gelu(x, approximate=\"tanh\")\n"
            + "  def cast_to(self: __torch__.LcmOps, x: Tensor, like: Tensor) -> Tensor:\n"
            + "    return x.to(like.dtype)\n"
            + "  def resize_bilinear(self: __torch__.LcmOps, x: Tensor, h: int, w: int) -> Tensor:\n"
            + "    return torch.upsample_bilinear2d(x, [h, w], False)\n"
            + "  def eigvalsh(self: __torch__.LcmOps, x: Tensor) -> Tensor:\n"
            + "    return torch.linalg_eigvalsh(x, \"L\")\n"
            + "  def psd_sqrt(self: __torch__.LcmOps, x: Tensor) -> Tensor:\n"
            + "    w, v = torch.linalg_eigh(x, \"L\")\n"
            + "    return torch.matmul(v * torch.sqrt(torch.clamp(w, 0.0)), v.t())\n";

    /** torch >= 2.0: the fused kernel (flash / memory-efficient where libtorch has them). */
    private static final String SDPA_FUSED = ""
            + "  def sdpa(self: __torch__.LcmOps, q: Tensor, k: Tensor, v: Tensor) -> Tensor:\n"
            + "    return torch.scaled_dot_product_attention(q, k, v)\n"
            + "  def sdpa_mask(self: __torch__.LcmOps, q: Tensor, k: Tensor, v: Tensor, mask: Tensor) -> Tensor:\n"
            + "    return torch.scaled_dot_product_attention(q, k, v, mask)\n"
            + "  def mha(self: __torch__.LcmOps, q: Tensor, k: Tensor, v: Tensor, heads: int) -> Tensor:\n"
            + "    b = q.size(0)\n"
            + "    d = q.size(2) // heads\n"
            + "    o = torch.scaled_dot_product_attention(q.reshape(b, -1, heads, d).transpose(1, 2),\n"
            + "        k.reshape(b, -1, heads, d).transpose(1, 2), v.reshape(b, -1, heads, d).transpose(1, 2))\n"
            + "    return o.transpose(1, 2).reshape(b, -1, heads * d)\n";

    /**
     * libtorch 1.x (e.g. Debian's 1.13 through tools/build-jni.sh) has no scaled_dot_product_attention: the same
     * math, softmax(q k^T / sqrt(d) + mask) v, composed.
     */
    private static final String SDPA_COMPOSED = ""
            + "  def sdpa(self: __torch__.LcmOps, q: Tensor, k: Tensor, v: Tensor) -> Tensor:\n"
            + "    s = torch.matmul(q, k.transpose(-2, -1)) * (float(q.size(-1)) ** -0.5)\n"
            + "    return torch.matmul(torch.softmax(s, -1), v)\n"
            + "  def sdpa_mask(self: __torch__.LcmOps, q: Tensor, k: Tensor, v: Tensor, mask: Tensor) -> Tensor:\n"
            + "    s = torch.matmul(q, k.transpose(-2, -1)) * (float(q.size(-1)) ** -0.5) + mask\n"
            + "    return torch.matmul(torch.softmax(s, -1), v)\n"
            + "  def mha(self: __torch__.LcmOps, q: Tensor, k: Tensor, v: Tensor, heads: int) -> Tensor:\n"
            + "    b = q.size(0)\n"
            + "    d = q.size(2) // heads\n"
            + "    qh = q.reshape(b, -1, heads, d).transpose(1, 2)\n"
            + "    s = torch.matmul(qh, k.reshape(b, -1, heads, d).transpose(1, 2).transpose(-2, -1)) * (float(d) ** -0.5)\n"
            + "    o = torch.matmul(torch.softmax(s, -1), v.reshape(b, -1, heads, d).transpose(1, 2))\n"
            + "    return o.transpose(1, 2).reshape(b, -1, heads * d)\n";

    /** The attention methods for the loaded libtorch (version from DJL: PYTORCH_VERSION or the bundled 2.7.1). */
    static String sdpaMethods(String libtorchVersion) {
        return libtorchVersion.startsWith("1.") ? SDPA_COMPOSED : SDPA_FUSED;
    }

    private static PtSymbolBlock module;
    private static NDManager moduleManager;

    private static synchronized PtSymbolBlock module() {
        if (module == null) {
            try {
                Path file = Files.createTempFile("lcm-ops", ".pt");
                file.toFile().deleteOnExit();
                TorchScriptArchive.write(file, "LcmOps",
                        METHODS.replace("SDPA", sdpaMethods(ai.djl.engine.Engine.getInstance().getVersion())));
                moduleManager = NDManager.newBaseManager();
                module = JniUtils.loadModule((PtNDManager) moduleManager, file, true, new String[0], new String[0], true);
                Files.deleteIfExists(file);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write the TorchScript ops module", e);
            }
        }
        return module;
    }

    /** TorchScript int/float arguments (group counts, epsilons), one IValue per value for the JVM's life. */
    private static final Map<Object, Long> CONSTANTS = new ConcurrentHashMap<>();
    private static final long[] NO_CONSTANTS = {};

    private static long intArg(long v) {
        return CONSTANTS.computeIfAbsent(v, k -> TorchScriptCall.integer(v));
    }

    private static long floatArg(double v) {
        return CONSTANTS.computeIfAbsent(v, k -> TorchScriptCall.real(v));
    }

    /** Runs a TorchScript method on tensors; the result belongs to the first input's manager. */
    private static NDArray call(String method, NDArray... xs) {
        return call(method, xs, NO_CONSTANTS);
    }

    /** Runs a TorchScript method on tensors followed by int/float arguments ({@link #intArg}, {@link #floatArg}). */
    private static NDArray call(String method, NDArray[] xs, long... constants) {
        PtSymbolBlock m = module();
        long[] args = new long[xs.length + constants.length];
        System.arraycopy(constants, 0, args, xs.length, constants.length);
        int made = 0;
        try {
            for (; made < xs.length; made++) {
                args[made] = TorchScriptCall.tensor((PtNDArray) xs[made]);
            }
            return TorchScriptCall.run(m, method, (PtNDManager) xs[0].getManager(), args);
        } finally {
            for (int i = 0; i < made; i++) {
                TorchScriptCall.delete(args[i]);
            }
        }
    }

    /** A 0-dim engine-owned scalar of x's dtype and device, safe inside the autograd graph. */
    public static NDArray scalar(NDArray like, double v) {
        return like.getManager().full(new Shape(), (float) v, like.getDataType());
    }

    public static NDArray mulScalar(NDArray x, double v) {
        return x.mul(scalar(x, v));
    }

    public static NDArray addScalar(NDArray x, double v) {
        return x.add(scalar(x, v));
    }

    /** torch.group_norm over NCHW (or N,C,*). */
    public static NDArray groupNorm(NDArray x, int groups, NDArray weight, NDArray bias, double eps) {
        return call("group_norm", new NDArray[] {x, weight, bias}, intArg(groups), floatArg(eps));
    }

    /** torch.nn.functional.layer_norm over the last dimension. */
    public static NDArray layerNorm(NDArray x, NDArray weight, NDArray bias, double eps) {
        return ai.djl.nn.norm.LayerNorm.layerNorm(x, new Shape(x.getShape().getLastDimension()), weight, bias, (float) eps)
                .singletonOrThrow();
    }

    /** Fused softmax(q k^T / sqrt(d)) v over [B, H, T, D] (memory-efficient kernels where libtorch has them). */
    public static NDArray attention(NDArray q, NDArray k, NDArray v) {
        FlopCounter.attention(q, k);
        return call("sdpa", q, k, v);
    }

    /**
     * Multi-head attention on token-major inputs: q [B, T, H*D], k and v [B, S, H*D] -> [B, T, H*D], the heads split
     * and merged inside the one TorchScript call around the fused kernel (as {@link #attention} on [B, H, T, D] views;
     * four fewer engine arrays per call than splitting and merging them here).
     */
    public static NDArray multiHeadAttention(NDArray q, NDArray k, NDArray v, int heads) {
        if (!JniUtils.isGradMode()) {
            FlopCounter.attention(q, k); // [B, T, H*D]: the same 4 B T S (H*D)
            return call("mha", new NDArray[] {q, k, v}, intArg(heads));
        }
        // with gradients the single-op SDPA call on views made here (a multi-op TorchScript graph under autograd goes
        // through the graph executor's differentiable-graph machinery); the same kernel on the same strided views, so
        // the same bits as the no-grad path
        NDArray qh = splitHeads(q, heads);
        NDArray kh = splitHeads(k, heads);
        NDArray vh = splitHeads(v, heads);
        NDArray o = attention(qh, kh, vh); // [B, H, T, D]
        qh.close();
        kh.close();
        vh.close();
        Shape s = q.getShape();
        NDArray merged = o.transpose(0, 2, 1, 3).reshape(s.get(0), s.get(1), s.get(2)); // [B, H, T, D] -> [B, T, H*D]
        o.close();
        return merged;
    }

    /** [B, T, H*D] -> [B, H, T, D], a view of x's storage. */
    private static NDArray splitHeads(NDArray x, int heads) {
        Shape s = x.getShape();
        return x.reshape(s.get(0), s.get(1), heads, s.get(2) / heads).transpose(0, 2, 1, 3);
    }

    /** Attention with an additive float mask broadcastable to [B, H, Tq, Tk]. */
    public static NDArray attention(NDArray q, NDArray k, NDArray v, NDArray mask) {
        FlopCounter.attention(q, k);
        return call("sdpa_mask", q, k, v, mask);
    }

    /**
     * torch.silu, with and without gradients the same kernel: a no-grad pass must give the bits of the pass with
     * gradients (the checkpointed student's forward runs without gradients and its recomputation with them). The
     * composed {@code x * sigmoid(x)} as two direct ops was faster on small activations but rounds differently.
     */
    public static NDArray silu(NDArray x) {
        return call("silu", x);
    }

    /**
     * Exact (erf) GELU, as a direct JNI op ({@code torch::nn::functional::gelu}, approximate "none"): the same kernel as
     * the TorchScript route without its per-call cost (a marker input, IValue conversions, the graph executor).
     */
    public static NDArray gelu(NDArray x) {
        return x.getNDArrayInternal().gelu();
    }

    public static NDArray geluTanh(NDArray x) {
        return call("gelu_tanh", x);
    }

    /** quick_gelu: x * sigmoid(1.702 x) (CLIP ViT-L). */
    public static NDArray quickGelu(NDArray x) {
        return x.mul(mulScalar(x, 1.702).getNDArrayInternal().sigmoid());
    }

    /** A cast that stays in the autograd graph (DJL's toType does not). */
    public static NDArray castInGraph(NDArray x, DataType type) {
        if (x.getDataType() == type) {
            return x;
        }
        NDArray like = x.getManager().zeros(new Shape(), type);
        NDArray y = call("cast_to", x, like);
        like.close();
        return y;
    }

    /**
     * torch.nn.functional.linear (weight [out, in]). With a bias, an N-D input is flattened to [N, in] first: the JNI's
     * C++ functional linear fuses the bias into the GEMM ({@code addmm}) only for 2-D input and otherwise runs
     * {@code matmul} and then a separate {@code add_} pass over the output; PyTorch's {@code aten::linear} flattens the
     * same way.
     */
    public static NDArray linear(NDArray x, NDArray weight, NDArray bias) {
        FlopCounter.linear(x, weight);
        Shape s = x.getShape();
        if (bias == null || s.dimension() <= 2) {
            return x.getNDArrayInternal().linear(x, weight, bias).singletonOrThrow();
        }
        long[] outShape = s.getShape().clone(); // getShape() is the Shape's own array
        outShape[outShape.length - 1] = weight.getShape().get(0);
        NDArray flat = x.reshape(-1, s.getLastDimension()); // [..., in] -> [N, in] (a view when x is contiguous)
        NDArray y2 = flat.getNDArrayInternal().linear(flat, weight, bias).singletonOrThrow(); // [N, out]
        flat.close();
        NDArray y = y2.reshape(new Shape(outShape)); // [N, out] -> [..., out]
        y2.close();
        return y;
    }

    /** torch.nn.functional.conv2d with square stride/padding. */
    public static NDArray conv2d(NDArray x, NDArray weight, NDArray bias, int stride, int padding) {
        FlopCounter.conv2d(x, weight, stride, padding);
        return x.getNDArrayInternal().convolution(x, weight, bias, new Shape(stride, stride), new Shape(padding, padding),
                new Shape(1, 1), 1).singletonOrThrow();
    }

    /**
     * torch.nn.functional.interpolate(x, size=(h, w), mode="bilinear", align_corners=False) of NCHW, without
     * antialiasing (DJL's own interpolation forces antialias for non-nearest modes).
     */
    public static NDArray resizeBilinear(NDArray x, int h, int w) {
        return call("resize_bilinear", new NDArray[] {x}, intArg(h), intArg(w));
    }

    /** Eigenvalues (ascending) of a symmetric matrix (LAPACK syevd via torch.linalg.eigvalsh; lower triangle read). */
    public static NDArray eigvalsh(NDArray symmetric) {
        return call("eigvalsh", symmetric);
    }

    /** V diag(sqrt(max(lambda, 0))) V^T of a symmetric matrix: the square root of a PSD matrix. */
    public static NDArray psdSqrt(NDArray symmetric) {
        return call("psd_sqrt", symmetric);
    }

    /** Nearest-neighbour 2x upsampling of NCHW. */
    public static NDArray upsampleNearest2x(NDArray x) {
        Shape s = x.getShape();
        return x.getNDArrayInternal().interpolation(new long[] {s.get(2) * 2, s.get(3) * 2}, 0, false);
    }
}
