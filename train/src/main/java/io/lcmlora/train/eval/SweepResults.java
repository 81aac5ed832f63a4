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
        Reference reference, Bootstrap bootstrap, String clipScore, String alignment, List<Setting> settings,
        String colour, Double referenceColourDiversity, List<LabelScore> referenceColourDiversityByLabel) {
    public static final String FORMAT = "lcm-eval-results";
    /**
     * 2: per-setting intervals over a bootstrap of prompts, CLIP score; 3: the colour-fidelity column; 4: per-label
     * bootstrap replicates.
     */
    public static final int VERSION = 4;

    /**
     * How the intervals were made: {@code resamples} draws of {@code prompts} prompts with replacement (seed
     * {@code seed}), central {@code level} intervals ({@code PromptBootstrap.centred}); {@code resamples} 0 = no
     * intervals.
     */
    public record Bootstrap(String unit, int prompts, int resamples, long seed, double level) {}

    /** A central bootstrap interval (null fields when there was no bootstrap). */
    public record Interval(double low, double high) {
        static Interval of(PromptBootstrap.Interval i) {
            return i == null ? null : new Interval(i.low(), i.high());
        }
    }

    /** The reference statistics: file, sample count and where they came from. */
    public record Reference(String statsFile, long samples, String source) {}

    /**
     * The colour distance of one label's prompts (e.g. the emoji category "Flags"): their mean, with its interval from
     * a bootstrap of those prompts alone (same resample count, level and seed as the sweep's), and that bootstrap's
     * {@code replicates} (null without one). A label's resamples depend only on its prompt count and the sweep's
     * seed, so two settings' replicates of one label are paired resample by resample
     * ({@link #labelDifferenceInterval}).
     */
    public record LabelScore(String label, int prompts, double mean, Interval interval, double[] replicates) {}

    /** One LoRA adapter of a setting. */
    public record Adapter(String name, String file, double weight) {}

    /**
     * One setting's result. {@code imagesGenerated} and {@code generationSeconds} add up every run of the sweep that
     * generated images of this setting; {@code secondsPerImage} is their ratio (null when none was timed).
     */
    /**
     * {@code fidInterval} / {@code clipScoreInterval} come from the bootstrap (null without one); their replicates
     * ({@code fidReplicates}, {@code clipScoreReplicates}, one per resample, the same resamples in every setting)
     * let a reader bound any ratio or difference of two settings. {@code clipScore} is null without a
     * {@code clip_score} block, {@code alignment} (mean probability of the prompt's label under a classifier
     * extractor) without prompt labels. {@code colour} ({@link ColourFidelity}: mean distance of each image's colour
     * histogram to its prompt's own references, lower is better) is null without a colour column;
     * {@code colourByLabel} breaks it down by prompt label (empty without labels). {@code colourDiversity}
     * ({@link ColourFidelity#diversity}: mean colour distance of each image to the other prompts' images of its label)
     * is to be read against {@code referenceColourDiversity}, the references' own.
     */
    public record Setting(String name, String family, String model, String modelPath, String scheduler, int steps,
            double guidance, List<Adapter> adapters, List<Long> timesteps, double fid, Interval fidInterval,
            long samples, long referenceSamples, int prompts, Double clipScore, Interval clipScoreInterval,
            Double alignment, Interval alignmentInterval, String imagesDir, String grid, long imagesGenerated,
            double generationSeconds, Double secondsPerImage, List<String> warnings, double[] fidReplicates,
            double[] clipScoreReplicates, double[] alignmentReplicates, Double colour, Interval colourInterval,
            double[] colourReplicates, List<LabelScore> colourByLabel, Double colourDiversity,
            Interval colourDiversityInterval, double[] colourDiversityReplicates, List<LabelScore> colourDiversityByLabel) {}

    /** The setting of a name. */
    public Setting setting(String name) {
        return settings.stream().filter(s -> s.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no setting named '" + name + "'"));
    }

    /**
     * The interval of {@code a}'s FID over {@code b}'s, replicate by replicate (paired resamples); null without a
     * bootstrap.
     */
    public PromptBootstrap.Interval fidRatioInterval(Setting a, Setting b) {
        if (a.fidReplicates() == null || b.fidReplicates() == null || a.fidReplicates().length == 0) {
            return null;
        }
        double[] r = new double[a.fidReplicates().length];
        for (int i = 0; i < r.length; i++) {
            r[i] = a.fidReplicates()[i] / b.fidReplicates()[i];
        }
        return PromptBootstrap.centred(a.fid() / b.fid(), r, bootstrap.level());
    }

    /** A table of one per-label score: a row per setting (and the references' row when given), a column per label. */
    private void byLabel(StringBuilder sb, String title, String note,
            java.util.function.Function<Setting, List<LabelScore>> scores, List<LabelScore> reference) {
        List<LabelScore> first = scores.apply(settings.get(0));
        sb.append("\n## ").append(title).append("\n\nMean [").append(interval())
                .append("] per label, each from a bootstrap of that label's prompts alone; ").append(note)
                .append(".\n\n| setting");
        for (LabelScore l : first) {
            sb.append(" | ").append(l.label()).append(" (").append(l.prompts()).append(")");
        }
        sb.append(" |\n|---").append("|---:".repeat(first.size())).append("|\n");
        List<Map.Entry<String, List<LabelScore>>> rows = new ArrayList<>();
        if (reference != null) {
            rows.add(Map.entry("references", reference));
        }
        for (Setting s : settings) {
            rows.add(Map.entry(s.name(), scores.apply(s)));
        }
        for (Map.Entry<String, List<LabelScore>> r : rows) {
            sb.append("| ").append(r.getKey());
            for (LabelScore l : r.getValue()) {
                sb.append(" | ").append(String.format(Locale.ROOT, "%.3f", l.mean())).append(' ').append(interval(l.interval()));
            }
            sb.append(" |\n");
        }
    }

    /**
     * The interval of {@code a}'s colour distance minus {@code b}'s, replicate by replicate (paired resamples); null
     * without a bootstrap or a colour column.
     */
    public PromptBootstrap.Interval colourDifferenceInterval(Setting a, Setting b) {
        return differenceInterval(a.colour(), a.colourReplicates(), b.colour(), b.colourReplicates());
    }

    /** The same for the colour diversity. */
    public PromptBootstrap.Interval colourDiversityDifferenceInterval(Setting a, Setting b) {
        return differenceInterval(a.colourDiversity(), a.colourDiversityReplicates(), b.colourDiversity(),
                b.colourDiversityReplicates());
    }

    /**
     * The interval of one label's score in setting {@code a} minus the same label's in {@code b} (e.g. the Flags'
     * colour diversity with a LoRA minus without), replicate by replicate; null without replicates. The two must be
     * the same label over the same prompts, which is what makes their resamples the same.
     */
    public PromptBootstrap.Interval labelDifferenceInterval(LabelScore a, LabelScore b) {
        if (!a.label().equals(b.label()) || a.prompts() != b.prompts()) {
            throw new IllegalArgumentException("label scores of different prompt sets cannot be paired: '" + a.label()
                    + "' (" + a.prompts() + " prompts) and '" + b.label() + "' (" + b.prompts() + " prompts)");
        }
        if (a.replicates() != null && b.replicates() != null && a.replicates().length != b.replicates().length) {
            throw new IllegalArgumentException("label '" + a.label() + "': " + a.replicates().length + " and "
                    + b.replicates().length + " replicates; both must come from one sweep's bootstrap");
        }
        return differenceInterval(a.mean(), a.replicates(), b.mean(), b.replicates());
    }

    private PromptBootstrap.Interval differenceInterval(Double a, double[] ra, Double b, double[] rb) {
        if (a == null || b == null || ra == null || rb == null || ra.length == 0) {
            return null;
        }
        double[] d = new double[ra.length];
        for (int i = 0; i < d.length; i++) {
            d[i] = ra[i] - rb[i];
        }
        return PromptBootstrap.centred(a - b, d, bootstrap.level());
    }

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

    /** The interval column's header, e.g. "90% interval". */
    private String interval() {
        return Math.round(100 * bootstrap.level()) + "% interval";
    }

    /** An interval as the table shows it: "[low, high]" with the FID's digits, or "-". */
    static String interval(Interval i) {
        return i == null ? "-" : "[" + fid(i.low()) + ", " + fid(i.high()) + "]";
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
                .append(", `").append(reference.statsFile()).append("`)\n");
        if (clipScore != null) {
            sb.append("- ").append(clipScore).append('\n');
        }
        if (alignment != null) {
            sb.append("- ").append(alignment).append('\n');
        }
        if (colour != null) {
            sb.append("- ").append(colour).append('\n');
            sb.append(String.format(Locale.ROOT, "- colour diversity: each image's mean colour distance to the images of "
                    + "the other prompts of its label (higher = more varied; the references' own: %.3f)%n",
                    referenceColourDiversity));
        }
        sb.append(bootstrap.resamples() == 0 ? "- intervals: none (bootstrap.resamples = 0)\n"
                : String.format(Locale.ROOT, "- intervals: %d%% bootstrap intervals over %d prompts (%d "
                        + "resamples of prompts with their images, seed %d; the percentile spread re-centred on the "
                        + "estimate)%n", Math.round(100 * bootstrap.level()),
                        bootstrap.prompts(), bootstrap.resamples(), bootstrap.seed()));
        boolean clip = clipScore != null;
        boolean align = alignment != null;
        boolean col = colour != null;
        sb.append("\n| setting | model | sampler | steps | guidance | FID | ").append(interval())
                .append(clip ? " | CLIP score | " + interval() : "").append(align ? " | alignment | " + interval() : "")
                .append(col ? " | colour distance | " + interval() + " | colour diversity | " + interval() : "")
                .append(" | prompts | samples | reference | s/image |\n");
        sb.append("|---|---|---|---:|---:|---:|---:").append(clip ? "|---:|---:" : "").append(align ? "|---:|---:" : "")
                .append(col ? "|---:|---:|---:|---:" : "").append("|---:|---:|---:|---:|\n");
        for (Setting s : settings) {
            StringBuilder sampler = new StringBuilder(s.scheduler());
            for (Adapter a : s.adapters()) {
                sampler.append(" + ").append(a.name()).append('@').append(EvalConfig.number(a.weight()));
            }
            sb.append("| ").append(s.name()).append(" | ").append(s.model()).append(" | ").append(sampler).append(" | ")
                    .append(s.steps()).append(" | ").append(EvalConfig.number(s.guidance())).append(" | ")
                    .append(fid(s.fid())).append(" | ").append(interval(s.fidInterval())).append(" | ")
                    .append(clip ? (s.clipScore() == null ? "-" : String.format(Locale.ROOT, "%.2f", s.clipScore()))
                            + " | " + interval(s.clipScoreInterval()) + " | " : "")
                    .append(align ? (s.alignment() == null ? "-" : String.format(Locale.ROOT, "%.3f", s.alignment()))
                            + " | " + interval(s.alignmentInterval()) + " | " : "")
                    .append(col ? (s.colour() == null ? "-" : String.format(Locale.ROOT, "%.3f", s.colour()))
                            + " | " + interval(s.colourInterval()) + " | "
                            + (s.colourDiversity() == null ? "-" : String.format(Locale.ROOT, "%.3f", s.colourDiversity()))
                            + " | " + interval(s.colourDiversityInterval()) + " | " : "")
                    .append(s.prompts()).append(" | ").append(s.samples()).append(" | ").append(s.referenceSamples())
                    .append(" | ")
                    .append(s.secondsPerImage() == null ? "-" : String.format(Locale.ROOT, "%.2f", s.secondsPerImage()))
                    .append(" |\n");
        }
        if (col && !settings.isEmpty() && settings.get(0).colourByLabel() != null
                && !settings.get(0).colourByLabel().isEmpty()) {
            byLabel(sb, "Colour distance by prompt label", "lower is better", Setting::colourByLabel, null);
            byLabel(sb, "Colour diversity by prompt label", "compare with the references' row",
                    Setting::colourDiversityByLabel, referenceColourDiversityByLabel);
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
