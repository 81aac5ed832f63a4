package io.lcmlora.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/**
 * diffusers {@code Downsample2D} with use_conv: a 3x3 stride-2 {@code conv}. With padding 0 (the VAE encoder)
 * the input is first zero-padded on the right and bottom by one pixel, as diffusers does.
 */
public final class Downsample2D {
    private final Conv2d conv;
    private final int padding;

    public Downsample2D(Weights vb, long channels, long out, int padding) {
        this.padding = padding;
        this.conv = new Conv2d(vb.pp("conv"), channels, out, 3, 2, padding);
    }

    /** [B, C, H, W] -> [B, C', ceil(H/2), ceil(W/2)]. */
    public NDArray forward(NDArray x) {
        if (padding == 0) {
            x = x.pad(new Shape(0, 1, 0, 1), 0);
        }
        return conv.forward(x);
    }
}
