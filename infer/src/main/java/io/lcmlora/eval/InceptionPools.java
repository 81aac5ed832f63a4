package io.lcmlora.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.pooling.Pool;

/** The three pooling shapes of the FID Inception (torch semantics, floor mode). */
final class InceptionPools {
    private InceptionPools() {}

    /** {@code F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)}: TF's average pool. */
    static NDArray avg3x3Same(NDArray x) {
        return Pool.avgPool2d(x, new Shape(3, 3), new Shape(1, 1), new Shape(1, 1), false, false);
    }

    /** {@code F.max_pool2d(x, 3, stride=1, padding=1)} (the FIDInceptionE_2 patch). */
    static NDArray max3x3Same(NDArray x) {
        return Pool.maxPool2d(x, new Shape(3, 3), new Shape(1, 1), new Shape(1, 1), false);
    }

    /** {@code nn.MaxPool2d(kernel_size=3, stride=2)}: [B, C, H, W] -> [B, C, (H-3)/2+1, (W-3)/2+1]. */
    static NDArray max3x3Stride2(NDArray x) {
        return Pool.maxPool2d(x, new Shape(3, 3), new Shape(2, 2), new Shape(0, 0), false);
    }
}
