package io.lcmlora.train.config;

/**
 * Checkpoints {@code <output_dir>/checkpoint-<step>/} every {@code every} optimizer steps, keeping the newest
 * {@code keep_last} (0 keeps all). {@code resume}: {@code latest} (the newest complete checkpoint, or a fresh start
 * when there is none) or a checkpoint folder. Defaults: the README command's {@code --checkpointing_steps 200
 * --checkpoints_total_limit 10}; resuming is explicit here.
 */
public record CheckpointConfig(int every, int keepLast, @Nullable String resume) {
    public CheckpointConfig {
        Check.range("every", every, 1, 1_000_000_000);
        Check.range("keep_last", keepLast, 0, 1_000_000);
        if (resume != null) {
            Check.notBlank("resume", resume);
        }
    }

    public static CheckpointConfig defaults() {
        return new CheckpointConfig(200, 10, null);
    }
}
