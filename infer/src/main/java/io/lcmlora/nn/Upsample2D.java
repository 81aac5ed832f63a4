package io.lcmlora.nn;

import ai.djl.ndarray.NDArray;

/** diffusers {@code Upsample2D} with use_conv: nearest 2x (or to a given size), then a 3x3 {@code conv}. */
public final class Upsample2D {
    private final Conv2d conv;

    public Upsample2D(Weights vb, long channels, long out) {
        this.conv = new Conv2d(vb.pp("conv"), channels, out, 3, 1, 1);
    }

    /** [B, C, H, W] -> [B, C', 2H, 2W]. */
    public NDArray forward(NDArray x) {
        return conv.forward(Ops.upsampleNearest2x(x));
    }

    /** Upsamples to an explicit size (diffusers' forward_upsample_size for odd latent sizes). */
    public NDArray forward(NDArray x, long height, long width) {
        NDArray up = x.getNDArrayInternal().interpolation(new long[] {height, width}, 0, false);
        return conv.forward(up);
    }
}
