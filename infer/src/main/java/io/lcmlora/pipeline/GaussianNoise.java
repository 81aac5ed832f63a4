package io.lcmlora.pipeline;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.SplittableRandom;

/**
 * The pipeline's noise, drawn in Java so that an image depends only on its seed, never on the engine's RNG state,
 * device or thread: every draw is a standard-normal stream of a {@link SplittableRandom} (SplitMix64, whose output
 * Java specifies exactly) keyed by (seed, purpose, step), turned into normals by the Box-Muller transform in
 * double precision and rounded to float32.
 *
 * <p>Streams: {@link Purpose#LATENTS} is the initial latent x_T, {@link Purpose#STEP} the fresh noise an LCM step
 * injects (one stream per step index), {@link Purpose#IMG2IMG} the noise added to the encoded image at the first
 * timestep, {@link Purpose#VAE} the draw of the VAE's latent distribution. Values are not those of
 * {@code torch.randn(generator=...)}: a seed here reproduces images of this toolkit, not of diffusers.
 */
public final class GaussianNoise {
    /** What a stream is for. */
    public enum Purpose {
        LATENTS, STEP, IMG2IMG, VAE
    }

    private GaussianNoise() {}

    /** {@code n} standard normals of the stream (seed, purpose, index). */
    public static float[] draw(long seed, Purpose purpose, int index, int n) {
        SplittableRandom r = new SplittableRandom(mix(seed, purpose, index));
        float[] out = new float[n];
        for (int i = 0; i < n; i += 2) {
            double u1;
            do {
                u1 = r.nextDouble();
            } while (u1 == 0.0);
            double u2 = r.nextDouble();
            double radius = Math.sqrt(-2.0 * Math.log(u1));
            double angle = 2.0 * Math.PI * u2;
            out[i] = (float) (radius * Math.cos(angle));
            if (i + 1 < n) {
                out[i + 1] = (float) (radius * Math.sin(angle));
            }
        }
        return out;
    }

    /**
     * A float32 [seeds.length, rest...] array: row b is the stream of {@code seeds[b]} (the per-image seeds of a
     * batch), so an image is the same whichever batch it was generated in.
     */
    public static NDArray batch(NDManager manager, long[] seeds, Purpose purpose, int index, Shape perImage) {
        int n = Math.toIntExact(perImage.size());
        float[] all = new float[n * seeds.length];
        for (int b = 0; b < seeds.length; b++) {
            System.arraycopy(draw(seeds[b], purpose, index, n), 0, all, b * n, n);
        }
        long[] dims = new long[perImage.dimension() + 1];
        dims[0] = seeds.length;
        System.arraycopy(perImage.getShape(), 0, dims, 1, perImage.dimension());
        return manager.create(all, new Shape(dims));
    }

    /** A 64-bit stream key: SplitMix64's finaliser over the seed, then the purpose and index folded in. */
    static long mix(long seed, Purpose purpose, int index) {
        long z = finalise(seed + 0x9E3779B97F4A7C15L);
        z = finalise(z ^ (purpose.ordinal() + 1L) * 0xBF58476D1CE4E5B9L);
        return finalise(z ^ (index + 1L) * 0x94D049BB133111EBL);
    }

    private static long finalise(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
