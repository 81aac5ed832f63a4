package io.lcmlora.train.config;

/**
 * Pre-computed VAE latents and prompt embeddings. The reference script encodes every step (no cache); caching is
 * equivalent when every image is seen once with a fixed crop, and saves the VAE/text-encoder passes, so it is on by
 * default. {@code dir} defaults to {@code <output_dir>/cache}. {@code vae_encode_batch_size}: the reference's 8.
 */
public record CacheConfig(boolean enabled, @Nullable String dir, int vaeEncodeBatchSize) {
    public CacheConfig {
        if (dir != null) {
            Check.notBlank("dir", dir);
        }
        Check.range("vae_encode_batch_size", vaeEncodeBatchSize, 1, 4096);
    }

    public static CacheConfig defaults() {
        return new CacheConfig(true, null, 8);
    }
}
