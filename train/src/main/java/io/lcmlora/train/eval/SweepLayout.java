package io.lcmlora.train.eval;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Where a sweep's files live under its output folder: images {@code <setting>/<prompt>_<seed>.png} (prompt index
 * zero-padded to 5 digits, the image's own seed), the setting's feature stats and generation time beside them, and
 * {@code grid_<setting>.png}, {@code results.json}, {@code results.md}, {@code fid_vs_steps.png} at the top.
 */
public record SweepLayout(Path root) {
    public static final String RESULTS_JSON = "results.json";
    public static final String RESULTS_MD = "results.md";
    public static final String PLOT = "fid_vs_steps.png";

    /** One image of a setting: prompt and seed. */
    public record Image(EvalPrompt prompt, long seed, Path file) {}

    public Path settingDir(SweepSetting s) {
        return root.resolve(s.name());
    }

    public Path image(SweepSetting s, EvalPrompt p, long seed) {
        return settingDir(s).resolve(String.format("%05d_%d.png", p.index(), seed));
    }

    /** The setting's per-image features with their prompts ({@link FeatureTable}). */
    public Path features(SweepSetting s) {
        return settingDir(s).resolve("fid_features.safetensors");
    }

    /** The setting's per-image prompt alignment (classifier probability of the prompt's label). */
    public Path alignment(SweepSetting s) {
        return settingDir(s).resolve("alignment.safetensors");
    }

    /** The setting's per-image CLIP scores. */
    public Path clipScores(SweepSetting s) {
        return settingDir(s).resolve("clip_scores.safetensors");
    }

    public Path timing(SweepSetting s) {
        return settingDir(s).resolve("generation.json");
    }

    public Path grid(SweepSetting s) {
        return root.resolve("grid_" + s.name() + ".png");
    }

    /** Every image a setting has: prompt by prompt, base seed by base seed, {@code imagesPerPrompt} seeds each. */
    public List<Image> images(SweepSetting s, List<EvalPrompt> prompts, List<Long> seeds, int imagesPerPrompt) {
        List<Image> out = new ArrayList<>();
        for (EvalPrompt p : prompts) {
            for (long base : seeds) {
                for (int k = 0; k < imagesPerPrompt; k++) {
                    out.add(new Image(p, base + k, image(s, p, base + k)));
                }
            }
        }
        return out;
    }

    /** A finished image: the atomic writer only ever leaves complete files under the final name. */
    public static boolean done(Path file) throws IOException {
        return Files.isRegularFile(file) && Files.size(file) > 0;
    }

    /** Deletes the temp files an interrupted atomic write left in {@code dir} ({@code .<name>.<random>.tmp}). */
    public static void removeStaleTemps(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return;
        }
        List<Path> stale;
        try (Stream<Path> s = Files.list(dir)) {
            stale = s.filter(p -> {
                String n = p.getFileName().toString();
                return n.startsWith(".") && n.endsWith(".tmp");
            }).toList();
        }
        for (Path p : stale) {
            Files.deleteIfExists(p);
        }
    }
}
