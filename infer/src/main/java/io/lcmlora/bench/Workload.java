package io.lcmlora.bench;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One of the three side-by-side benchmark configurations of {@code ../shared/peer/peer_bench.py} ({@code CONFIGS}):
 * the UNet (a diffusers {@code unet/} folder: its weights when it has them, random weights of its
 * {@code config.json} otherwise), batch, square latent size and LoRA rank, and the peer's default iteration counts.
 */
public record Workload(String name, Path unetDir, int batch, int latent, int rank) {
    /** What is measured: one no-grad UNet forward, 4-step LCM sampling, one LCD training step. */
    public enum Measure {
        UNET_FWD("unet_fwd"),
        SAMPLE4("sample4"),
        LCD_STEP("lcd_step");

        private final String id;

        Measure(String id) {
            this.id = id;
        }

        public String id() {
            return id;
        }

        public static Measure parse(String s) {
            for (Measure m : values()) {
                if (m.id.equals(s)) {
                    return m;
                }
            }
            throw new IllegalArgumentException("measure '" + s + "': expected unet_fwd, sample4 or lcd_step");
        }
    }

    public Workload {
        if (batch < 1 || latent < 8 || latent % 8 != 0 || rank < 1) {
            throw new IllegalArgumentException(name + ": batch >= 1, latent a multiple of 8 and rank >= 1 expected, got batch "
                    + batch + ", latent " + latent + ", rank " + rank);
        }
    }

    /**
     * The named configuration: {@code public} (the golden UNet {@code testdata/golden/unet}, batch 2, 16x16, rank 4),
     * {@code small} ({@code ../shared/peer/unets/small}, 32.8M params, batch 4, 32x32, rank 16) or {@code mid}
     * ({@code ../shared/peer/unets/mid}, 329M params, batch 2, 32x32, rank 32). Paths are relative to {@code root}
     * (the repository root).
     */
    public static Workload named(String name, Path root) {
        return switch (name) {
            case "public" -> new Workload(name, root.resolve("testdata/golden/unet"), 2, 16, 4);
            case "small" -> new Workload(name, root.resolve("../shared/peer/unets/small"), 4, 32, 16);
            case "mid" -> new Workload(name, root.resolve("../shared/peer/unets/mid"), 2, 32, 32);
            default -> throw new IllegalArgumentException("config '" + name + "': expected public, small or mid");
        };
    }

    /** The same configuration on another UNet folder. */
    public Workload withUnet(Path dir) {
        return new Workload(name, dir, batch, latent, rank);
    }

    /** Checks the folder exists and has a config.json, naming the fix. */
    public Path configJson() {
        Path c = unetDir.resolve("config.json");
        if (!Files.isRegularFile(c)) {
            throw new IllegalArgumentException(name + ": no UNet config at " + c
                    + " (run from the repository root, with ../shared beside it, or pass --unet DIR)");
        }
        return c;
    }
}
