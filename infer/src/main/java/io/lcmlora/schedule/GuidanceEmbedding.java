package io.lcmlora.schedule;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * The guidance-scale (w) embedding of the LCM scripts and {@code StableDiffusionXLPipeline.get_guidance_scale_embedding}
 * (diffusers v0.25.1), in float32: w' = w * 1000; half = dim / 2; freq_k = exp(-k * ln(10000) / (half - 1));
 * emb = [sin(w' freq) | cos(w' freq)], zero-padded by one column when dim is odd. Note the SDXL pipeline feeds
 * {@code guidance_scale - 1}, the training scripts the sampled w.
 */
public final class GuidanceEmbedding {
    private GuidanceEmbedding() {}

    /** [len(w), dim] row-major. */
    public static float[] embed(float[] w, int dim) {
        int half = dim / 2;
        if (half < 2) {
            throw new IllegalArgumentException("embedding_dim must be at least 4, got " + dim);
        }
        float logBase = (float) Math.log(10000.0) / (float) (half - 1);
        float[] freq = new float[half];
        for (int k = 0; k < half; k++) {
            freq[k] = (float) Math.exp((float) k * -logBase);
        }
        float[] out = new float[w.length * dim];
        for (int b = 0; b < w.length; b++) {
            float ws = w[b] * 1000f;
            for (int k = 0; k < half; k++) {
                float x = ws * freq[k];
                out[b * dim + k] = (float) Math.sin(x);
                out[b * dim + half + k] = (float) Math.cos(x);
            }
        }
        return out;
    }

    /** The embedding as a [len(w), dim] float32 engine array. */
    public static NDArray embed(NDManager manager, float[] w, int dim) {
        try (NDArray host = manager.create(embed(w, dim), new Shape(w.length, dim))) {
            return host.duplicate();
        }
    }
}
