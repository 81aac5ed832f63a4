package io.lcmlora.train.distill;

/**
 * One training example as the distillation step consumes it: the VAE latent distribution (unscaled mean and std,
 * [C, h, w]) and the SDXL conditioning (prompt embeddings [T, D] of both encoders, pooled embedding [P] of encoder
 * 2, micro-conditioning time ids [6]).
 *
 * @param index the example's index in the data source
 */
public record CachedExample(int index, long[] latentShape, float[] mean, float[] std, long[] embedShape,
        float[] promptEmbeds, float[] pooled, float[] timeIds) {
    public CachedExample {
        if (latentShape.length != 3 || mean.length != std.length || mean.length != latentShape[0] * latentShape[1] * latentShape[2]) {
            throw new IllegalArgumentException("example " + index + ": latent mean/std do not fit shape [C, h, w]");
        }
        if (embedShape.length != 2 || promptEmbeds.length != embedShape[0] * embedShape[1]) {
            throw new IllegalArgumentException("example " + index + ": prompt embeddings do not fit shape [T, D]");
        }
        if (timeIds.length != 6) {
            throw new IllegalArgumentException("example " + index + ": expected 6 time ids, got " + timeIds.length);
        }
    }

    /** {@code (mean + std * eps) * scalingFactor}: a latent sample scaled for the UNet (eps standard normal). */
    public float[] sampleLatent(float[] eps, double scalingFactor) {
        if (eps.length != mean.length) {
            throw new IllegalArgumentException("noise has " + eps.length + " values, the latent " + mean.length);
        }
        float[] z = new float[mean.length];
        float sf = (float) scalingFactor;
        for (int i = 0; i < z.length; i++) {
            z[i] = (mean[i] + std[i] * eps[i]) * sf;
        }
        return z;
    }
}
