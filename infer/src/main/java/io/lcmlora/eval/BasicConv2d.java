package io.lcmlora.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.norm.BatchNorm;
import io.lcmlora.nn.Weights;

/**
 * torchvision's {@code inception.BasicConv2d}: bias-free conv, BatchNorm (eps 0.001) in eval mode with the
 * running statistics, ReLU. Keys: {@code conv.weight}, {@code bn.weight|bias|running_mean|running_var}.
 */
final class BasicConv2d {
    /** torchvision's {@code BasicConv2d} builds {@code BatchNorm2d(out_channels, eps=0.001)}. */
    static final float BN_EPS = 1e-3f;

    private final NDArray weight;
    private final NDArray gamma;
    private final NDArray beta;
    private final NDArray runningMean;
    private final NDArray runningVar;
    private final Shape stride;
    private final Shape padding;

    /** Square kernel {@code k}, stride and padding. */
    BasicConv2d(Weights vb, int in, int out, int k, int stride, int padding) {
        this(vb, in, out, k, k, stride, padding, padding);
    }

    /** Rectangular kernel {@code kh x kw} with padding {@code (ph, pw)} (the 1x7 / 7x1 / 1x3 / 3x1 convs). */
    BasicConv2d(Weights vb, int in, int out, int kh, int kw, int stride, int ph, int pw) {
        Weights conv = vb.pp("conv");
        Weights bn = vb.pp("bn");
        this.weight = conv.get("weight", out, in, kh, kw);
        this.gamma = bn.get("weight", out);
        this.beta = bn.get("bias", out);
        this.runningMean = bn.get("running_mean", out);
        this.runningVar = bn.get("running_var", out);
        this.stride = new Shape(stride, stride);
        this.padding = new Shape(ph, pw);
        vb.register(this);
    }

    NDArray forward(NDArray x) {
        // [B, in, H, W] -> [B, out, H', W']
        NDArray y = x.getNDArrayInternal().convolution(x, weight, null, stride, padding, new Shape(1, 1), 1)
                .singletonOrThrow();
        NDArray normed = BatchNorm.batchNorm(y, runningMean, runningVar, gamma, beta, 1, 0.1f, BN_EPS, false)
                .singletonOrThrow();
        return normed.getNDArrayInternal().relu();
    }
}
