package io.lcmlora.train.pretrain;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;

/** Runs one stage of the demo teacher, unless its output already exists. */
public final class Pretrain {
    private Pretrain() {}

    /** Whether the stage's output is complete (folders are published whole, so presence means complete). */
    public static boolean done(PretrainConfig c) {
        Path out = Path.of(c.outputDir());
        return switch (c.stage()) {
            case VAE -> Files.isRegularFile(out.resolve("vae").resolve("config.json"));
            case TEXT -> DiffusersFolder.TEXT_PARTS.stream().allMatch(p -> Files.isDirectory(out.resolve(p)));
            case UNET, FINETUNE -> Files.isRegularFile(out.resolve("model_index.json"));
        };
    }

    /** Runs the stage (or reports the skip); returns false when it was skipped. */
    public static boolean run(PretrainConfig c, boolean force, Consumer<String> log) throws IOException {
        String stage = c.stage().name().toLowerCase();
        if (!force && done(c)) {
            log.accept(stage + ": " + c.outputDir() + " already holds the output, skipping (--force to redo)");
            return false;
        }
        switch (c.stage()) {
            case VAE -> VaeTrainer.train(c, log);
            case TEXT -> TextStage.write(c, log);
            case UNET, FINETUNE -> UnetTrainer.train(c, log);
        }
        log.accept(stage + ": wrote " + c.outputDir());
        return true;
    }
}
