package io.lcmlora.model.vae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import io.lcmlora.nn.Ops;
import java.util.Arrays;

/**
 * diffusers {@code DiagonalGaussianDistribution} (deterministic=False): the encoder's moments split along channels
 * into {@code mean} and {@code logvar}, {@code logvar} clamped to [-30, 20], {@code std = exp(0.5 * logvar)}.
 *
 * @param mean [B, C, h, w]
 * @param logvar [B, C, h, w], clamped
 * @param std [B, C, h, w]
 */
public record DiagonalGaussianDistribution(NDArray mean, NDArray logvar, NDArray std) {
    static final double LOGVAR_MIN = -30;
    static final double LOGVAR_MAX = 20;

    /** moments [B, 2C, h, w] = [mean | logvar] along dim 1. */
    public static DiagonalGaussianDistribution fromMoments(NDArray moments) {
        NDList parts = moments.split(2, 1); // [B, 2C, h, w] -> 2 x [B, C, h, w]
        NDArray mean = parts.get(0);
        NDArray logvar = parts.get(1).clip(LOGVAR_MIN, LOGVAR_MAX);
        NDArray std = Ops.mulScalar(logvar, 0.5).exp();
        return new DiagonalGaussianDistribution(mean, logvar, std);
    }

    /** {@code mean + std * noise}: diffusers' {@code sample(generator)} with the standard-normal draw given. */
    public NDArray sample(NDArray noise) {
        if (!noise.getShape().equals(mean.getShape())) {
            throw new IllegalArgumentException("noise has shape " + Arrays.toString(noise.getShape().getShape())
                    + ", expected the latent shape " + Arrays.toString(mean.getShape().getShape()));
        }
        return mean.add(std.mul(noise.toType(std.getDataType(), false)));
    }

    /** The mode, which is the mean. */
    public NDArray mode() {
        return mean;
    }
}
