package io.lcmlora.train.eval;

import com.google.gson.FieldNamingPolicy;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import io.lcmlora.train.config.EvalConfig;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What a sweep measured: per setting the FID with both sample counts, the sampler settings, the model and adapters,
 * the generation time and the FID warnings; written as {@code results.json} ({@link #toJson()}, snake_case keys) and
 * {@code results.md} ({@link #toMarkdown()}).
 */
public record SweepResults(String format, int version, String prompts, int promptCount, List<Long> seeds,
        int imagesPerPrompt, int width, int height, String extractor, String preprocessing, int dims,
        Reference reference, List<Setting> settings) {
    public static final String FORMAT = "lcm-eval-results";

    /** The reference statistics: file, sample count and where they came from. */
    public record Reference(String statsFile, long samples, String source) {}

    /** One LoRA adapter of a setting. */
    public record Adapter(String name, String file, double weight) {}

    /**
     * One setting's result. {@code imagesGenerated} and {@code generationSeconds} add up every run of the sweep that
     * generated images of this setting; {@code secondsPerImage} is their ratio (null when none was timed).
     */
    public record Setting(String name, String family, String model, String modelPath, String scheduler, int steps,
            double guidance, List<Adapter> adapters, List<Long> timesteps, double fid, long samples,
            long referenceSamples, String imagesDir, String grid, long imagesGenerated, double generationSeconds,
            Double secondsPerImage, List<String> warnings) {}

    static Gson gson() {
        return new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().serializeNulls()
                .setFieldNamingPolicy(FieldNamingPolicy.LOWER_CASE_WITH_UNDERSCORES).create();
    }

    public String toJson() {
        return gson().toJson(this) + "\n";
    }

    public static SweepResults fromJson(String json) {
        return gson().fromJson(json, SweepResults.class);
    }

    /** FID as the table shows it: two decimals, or three significant digits below 1 (tiny-model smoke runs). */
    static String fid(double v) {
        return String.format(Locale.ROOT, Math.abs(v) >= 1 ? "%.2f" : "%.3g", v);
    }

    /** A Markdown report: the setup, the FID table, every warning once (with the settings it concerns), the grids. */
    public String toMarkdown() {
        StringBuilder sb = new StringBuilder();
        sb.append("# FID sweep\n\n");
        sb.append("- prompts: `").append(prompts).append("` (").append(promptCount).append(" prompts), seeds ")
                .append(seeds).append(" x ").append(imagesPerPrompt).append(" image(s) per prompt, ").append(width)
                .append('x').append(height).append(", PNG\n");
        sb.append("- features: ").append(extractor).append('\n');
        sb.append("- reference: ").append(reference.samples()).append(" samples (").append(reference.source())
                .append(", `").append(reference.statsFile()).append("`)\n\n");
        sb.append("| setting | model | sampler | steps | guidance | FID | samples | s/image |\n");
        sb.append("|---|---|---|---:|---:|---:|---:|---:|\n");
        for (Setting s : settings) {
            StringBuilder sampler = new StringBuilder(s.scheduler());
            for (Adapter a : s.adapters()) {
                sampler.append(" + ").append(a.name()).append('@').append(EvalConfig.number(a.weight()));
            }
            sb.append("| ").append(s.name()).append(" | ").append(s.model()).append(" | ").append(sampler).append(" | ")
                    .append(s.steps()).append(" | ").append(EvalConfig.number(s.guidance())).append(" | ")
                    .append(fid(s.fid())).append(" | ").append(s.samples()).append(" | ")
                    .append(s.secondsPerImage() == null ? "-" : String.format(Locale.ROOT, "%.2f", s.secondsPerImage()))
                    .append(" |\n");
        }
        Map<String, List<String>> warnings = new LinkedHashMap<>();
        for (Setting s : settings) {
            for (String w : s.warnings()) {
                warnings.computeIfAbsent(w, k -> new ArrayList<>()).add(s.name());
            }
        }
        if (!warnings.isEmpty()) {
            sb.append("\n## Warnings\n\n");
            for (Map.Entry<String, List<String>> e : warnings.entrySet()) {
                String who = e.getValue().size() == settings.size() ? "all settings" : String.join(", ", e.getValue());
                sb.append("- ").append(e.getKey()).append(" (").append(who).append(")\n");
            }
        }
        sb.append("\n## Plot and sample grids\n\n![FID against steps](").append(SweepLayout.PLOT).append(")\n\n");
        for (Setting s : settings) {
            sb.append("- ").append(s.name()).append(": [").append(s.grid()).append("](").append(s.grid()).append(")\n");
        }
        return sb.toString();
    }
}
