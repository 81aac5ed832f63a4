package io.lcmlora.train.distill;

import io.lcmlora.train.loop.Rng;
import java.io.IOException;

/**
 * The usable examples of a run, either read from the {@link LatentCache} or encoded on the fly
 * ({@link LiveData}, {@code cache.enabled: false}). Positions are 0..size-1 over the usable examples only.
 */
public interface TrainingData extends AutoCloseable {
    int size();

    /** The aspect bucket of each position (all 0 without buckets). */
    int[] buckets();

    /** The VAE's latent scaling factor. */
    double scalingFactor();

    /** The example at {@code position}; live data draws its random crop/flip from {@code augment}. */
    CachedExample get(int position, Rng augment) throws IOException;

    /** The examples of one batch (one bucket), in order. */
    default java.util.List<CachedExample> batch(int[] positions, Rng augment) throws IOException {
        java.util.List<CachedExample> out = new java.util.ArrayList<>();
        for (int p : positions) {
            out.add(get(p, augment));
        }
        return out;
    }

    /** True when the frozen VAE and text encoders were loaded by this run. */
    boolean encodersLoaded();

    @Override
    void close() throws IOException;
}
