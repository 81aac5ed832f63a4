package io.lcmlora.train.config;

/**
 * TensorBoard scalars (loss, lr, grad norm, step time, images/s) every {@code every} optimizer steps into
 * {@code dir} (default {@code <output_dir>/logs}); the reference logs every step.
 */
public record LoggingConfig(@Nullable String dir, int every, boolean tensorboard) {
    public LoggingConfig {
        if (dir != null) {
            Check.notBlank("dir", dir);
        }
        Check.range("every", every, 1, 1_000_000_000);
    }

    public static LoggingConfig defaults() {
        return new LoggingConfig(null, 1, true);
    }
}
