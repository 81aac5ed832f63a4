package io.lcmlora.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.pooling.Pool;

/** The three pooling shapes of the FID Inception (torch semantics, floor mode). */
final class InceptionPools {
    private InceptionPools() {}

    /**
     * {@code F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)}: TF's average pool, which
     * divides by the number of in-image taps. DJL 0.36 ignores its countIncludePad flag (always divides by 9),
     * so the border values are rescaled by 9 / taps (exact factors: 1, 1.5, 2.25).
     */
    static NDArray avg3x3Same(NDArray x) {
        NDArray sumOver9 = Pool.avgPool2d(x, new Shape(3, 3), new Shape(1, 1), new Shape(1, 1), false, true);
        long[] s = x.getShape().getShape();
        int h = Math.toIntExact(s[2]);
        int w = Math.toIntExact(s[3]);
        float[] factor = new float[h * w];
        for (int i = 0; i < h; i++) {
            int rows = Math.min(i + 1, h - 1) - Math.max(i - 1, 0) + 1;
            for (int j = 0; j < w; j++) {
                int cols = Math.min(j + 1, w - 1) - Math.max(j - 1, 0) + 1;
                factor[i * w + j] = 9f / (rows * cols);
            }
        }
        return sumOver9.mul(x.getManager().create(factor, new Shape(1, 1, h, w)));
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
