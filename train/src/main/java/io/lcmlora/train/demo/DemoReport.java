package io.lcmlora.train.demo;

import io.lcmlora.io.AtomicFiles;
import io.lcmlora.schedule.SchedulerKind;
import io.lcmlora.train.config.EvalConfig;
import io.lcmlora.train.eval.EvalPrompt;
import io.lcmlora.train.eval.EvalPrompts;
import io.lcmlora.train.eval.PromptBootstrap;
import io.lcmlora.train.eval.SampleGrid;
import io.lcmlora.train.eval.SweepLayout;
import io.lcmlora.train.eval.SweepResults;
import io.lcmlora.train.eval.SweepSetting;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/**
 * The demo's report: one FID table over both sweeps (the twitter teacher and its google fine-tune, each with its own
 * DDIM steps and with the LCM-LoRA distilled from the twitter teacher), the three targets checked, and the
 * comparison grids, written to {@code <out>/demo.md} and {@code <out>/grid_*.png}.
 */
public final class DemoReport {
    public static final String REPORT = "demo.md";
    static final int GRID_PROMPTS = 8;
    static final int CELL = 64;
    static final int LABEL_WIDTH = 120;

    /** Target: LCM-LoRA 4 steps within this factor of the teacher's 50-step DDIM FID. */
    static final double TARGET_VS_50 = 1.15;
    /** Target: LCM-LoRA 4 steps below this factor of the teacher's 4-step DDIM FID. */
    static final double TARGET_VS_4 = 0.5;
    /** Target: on the fine-tuned teacher, LCM-LoRA 4 steps within this factor of its 50-step DDIM FID. */
    static final double TARGET_FINETUNE_VS_50 = 1.3;
    /**
     * The paper's few-step claim judged where this teacher's few-step DDIM does degrade: LCM-LoRA 2 steps below this
     * factor of the teacher's 2-step DDIM FID (the tiny teacher is already converged at 4 DDIM steps; see
     * {@link #convergence}).
     */
    static final double TARGET_VS_2 = 0.5;
    /** Issue 14's goal for every judged ratio: its 90% interval narrower than this. */
    static final double WIDTH_GOAL = 0.15;

    private DemoReport() {}

    /** One sweep: its config (for the settings and image layout) and its results. */
    record Sweep(EvalConfig config, SweepResults results) {
        static Sweep load(EvalConfig config) throws IOException {
            Path file = Path.of(config.outputDir()).resolve(SweepLayout.RESULTS_JSON);
            return new Sweep(config, SweepResults.fromJson(Files.readString(file)));
        }

        /** The expanded setting of a scheduler and step count (the first, in config order). */
        SweepSetting setting(SchedulerKind scheduler, int steps) {
            return SweepSetting.expand(config).stream()
                    .filter(s -> s.scheduler() == scheduler && s.steps() == steps).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException(config.outputDir() + ": no "
                            + EvalConfig.schedulerName(scheduler) + " setting with " + steps + " steps"));
        }

        /** The result of a setting, or null when the sweep has none of that scheduler and step count. */
        SweepResults.Setting result(SchedulerKind scheduler, int steps) {
            for (SweepSetting s : SweepSetting.expand(config)) {
                if (s.scheduler() == scheduler && s.steps() == steps) {
                    return results.settings().stream().filter(r -> r.name().equals(s.name())).findFirst().orElse(null);
                }
            }
            return null;
        }

        double fid(SchedulerKind scheduler, int steps) {
            SweepResults.Setting r = result(scheduler, steps);
            if (r == null) {
                throw new IllegalArgumentException(config.outputDir() + ": no " + EvalConfig.schedulerName(scheduler)
                        + " result with " + steps + " steps");
            }
            return r.fid();
        }
    }

    /** Where a target stands given the ratio's bootstrap interval. */
    enum Verdict {
        /** The whole interval is at or below the bound. */
        MET("met"),
        /** The whole interval is above the bound. */
        NOT_MET("NOT met"),
        /** The interval straddles the bound: the samples cannot tell. */
        UNDECIDED("undecided"),
        /** No bootstrap was run, so there is no interval to judge by. */
        NO_INTERVAL("no interval (bootstrap.resamples = 0)");

        final String label;

        Verdict(String label) {
            this.label = label;
        }
    }

    /**
     * A checked target: what it compares, the measured FID ratio with its interval over the same bootstrap resamples
     * of prompts (null without a bootstrap), and the bound it must not exceed.
     */
    record Target(String what, double ratio, PromptBootstrap.Interval interval, double bound) {
        Verdict verdict() {
            if (interval == null) {
                return Verdict.NO_INTERVAL;
            }
            if (interval.high() <= bound) {
                return Verdict.MET;
            }
            if (interval.low() > bound) {
                return Verdict.NOT_MET;
            }
            return Verdict.UNDECIDED;
        }

        /** The interval's width (high - low); NaN without one. */
        double width() {
            return interval == null ? Double.NaN : interval.high() - interval.low();
        }

        /** Whether the interval is narrower than {@link #WIDTH_GOAL}. */
        boolean narrow() {
            return interval != null && width() < WIDTH_GOAL;
        }

        String line() {
            String iv = interval == null ? "" : String.format(Locale.ROOT, " [%.2f, %.2f]", interval.low(), interval.high());
            String w = interval == null ? "" : String.format(Locale.ROOT, "; interval width %.3f (%s %.2f)", width(),
                    narrow() ? "<" : ">=", WIDTH_GOAL);
            return String.format(Locale.ROOT, "- %s: %.2f%s (target <= %.2f): %s%s", what, ratio, iv, bound,
                    verdict().label, w);
        }
    }

    /** Whether the judged ratios' intervals are narrow enough: how many are, and the widest. */
    static String widthLine(List<Target> targets) {
        List<Target> judged = targets.stream().filter(t -> t.interval() != null).toList();
        if (judged.isEmpty()) {
            return "Interval widths: no intervals (bootstrap.resamples = 0).";
        }
        Target widest = judged.stream().max(java.util.Comparator.comparingDouble(Target::width)).orElseThrow();
        long narrow = judged.stream().filter(Target::narrow).count();
        return String.format(Locale.ROOT, "Interval widths: %d of %d judged ratios have a 90%% interval narrower than "
                + "%.2f (issue 14's goal)%s; the widest is %.3f (%s).", narrow, judged.size(), WIDTH_GOAL,
                narrow == judged.size() ? ": met" : ": NOT met for " + (judged.size() - narrow), widest.width(),
                widest.what());
    }

    /** Reads both sweeps' results and writes the report (table, targets) and the grids. */
    public static void write(DemoPaths paths, EvalConfig base, EvalConfig finetune, PrintStream out) throws IOException {
        Sweep b = Sweep.load(base);
        Sweep f = Sweep.load(finetune);
        String table = table(b, f);
        List<Target> targets = targets(b, f);
        StringBuilder md = new StringBuilder(table).append('\n');
        for (Target t : targets) {
            md.append(t.line()).append('\n');
        }
        md.append('\n').append(widthLine(targets)).append("\n\n");
        for (String line : convergence(b, f)) {
            md.append(line).append('\n');
        }
        for (String line : diversityByCategory(b, f)) {
            md.append(line).append('\n');
        }
        SweepResults.Bootstrap bs = b.results().bootstrap();
        md.append(String.format(Locale.ROOT, "%nFID: %s, %d held-out prompts x %d image(s) per setting, "
                + "reference %d (twitter) and %d (google) held-out images. ", b.results().extractor(),
                b.results().promptCount(), b.results().imagesPerPrompt() * b.results().seeds().size(),
                b.results().reference().samples(), f.results().reference().samples()));
        md.append(bs.resamples() == 0 ? "No intervals (bootstrap.resamples = 0).\n" : String.format(Locale.ROOT,
                "Intervals: %d%% bootstrap intervals, %d resamples of the prompts with their generated and "
                + "reference images (seed %d; the resamples' central spread around their median, placed "
                + "around the full-sample value, since repeated prompts bias a resample's FID upwards), the same resamples for every setting of a sweep; a target is met when the "
                + "ratio's whole interval is within it, not met when the whole interval is outside, else undecided.%n",
                Math.round(100 * bs.level()), bs.resamples(), bs.seed()));
        List<String> grids = grids(paths, b, f);
        md.append('\n');
        for (String g : grids) {
            md.append("![").append(g).append("](").append(g).append(")\n");
        }
        AtomicFiles.writeString(paths.out().resolve(REPORT), md.toString());
        out.println("wrote " + paths.out().resolve(REPORT) + " and " + grids.size() + " grids in " + paths.out());
        out.flush();
    }

    /**
     * The Markdown table: one row per sampler and step count, per teacher the FID with its interval, then the sample
     * counts (generated per setting / reference) and the twitter sweep's seconds per image.
     */
    static String table(Sweep base, Sweep finetune) {
        StringBuilder sb = new StringBuilder();
        String level = Math.round(100 * base.results().bootstrap().level()) + "%";
        boolean align = base.results().alignment() != null && finetune.results().alignment() != null;
        boolean colour = base.results().colour() != null && finetune.results().colour() != null;
        sb.append("| sampler | steps | FID twitter teacher | ").append(level).append(" interval | FID google fine-tune "
                + "(LoRA never saw it) | ").append(level).append(" interval | ")
                .append(align ? "alignment twitter [" + level + "] | alignment google [" + level + "] | " : "")
                .append(colour ? "colour distance twitter [" + level + "] | colour distance google [" + level + "] | "
                        + String.format(Locale.ROOT, "colour diversity twitter [%s] (references %.3f) | colour diversity "
                        + "google [%s] (references %.3f) | ", level, base.results().referenceColourDiversity(), level,
                        finetune.results().referenceColourDiversity()) : "")
                .append("samples (per setting / reference) | s/image |\n");
        sb.append("|---|---:|---:|---:|---:|---:|").append(align ? "---:|---:|" : "").append(colour ? "---:|---:|---:|---:|" : "")
                .append("---:|---:|\n");
        for (SweepSetting s : SweepSetting.expand(base.config())) {
            SweepResults.Setting rb = base.result(s.scheduler(), s.steps());
            SweepResults.Setting rf = finetune.result(s.scheduler(), s.steps());
            String sampler = s.adapters().isEmpty()
                    ? "teacher " + s.schedulerName().toUpperCase(Locale.ROOT) + ", CFG " + EvalConfig.number(s.guidance())
                    : "LCM-LoRA (" + s.schedulerName().toUpperCase(Locale.ROOT) + "), CFG " + EvalConfig.number(s.guidance());
            sb.append(String.format(Locale.ROOT, "| %s | %d | %s | %s | %s | %s | %s%s%s | %s |%n", sampler, s.steps(),
                    fid(rb), interval(rb), fid(rf), interval(rf),
                    align ? alignment(rb) + " | " + alignment(rf) + " | " : "",
                    colour ? colour(rb) + " | " + colour(rf) + " | " + diversity(rb) + " | " + diversity(rf) + " | " : "",
                    counts(rb, rf),
                    rb == null || rb.secondsPerImage() == null ? "-"
                            : String.format(Locale.ROOT, "%.3f", rb.secondsPerImage())));
        }
        return sb.toString();
    }

    static List<Target> targets(Sweep base, Sweep finetune) {
        SchedulerKind lcm = SchedulerKind.LCM;
        SchedulerKind ddim = SchedulerKind.DDIM;
        return List.of(
                target("twitter: LCM-LoRA 4 steps / teacher DDIM 50 steps", base, lcm, 4, ddim, 50, TARGET_VS_50),
                target("twitter: LCM-LoRA 4 steps / teacher DDIM 4 steps", base, lcm, 4, ddim, 4, TARGET_VS_4),
                target("google fine-tune: LCM-LoRA 4 steps / its DDIM 50 steps", finetune, lcm, 4, ddim, 50,
                        TARGET_FINETUNE_VS_50),
                target("twitter: LCM-LoRA 2 steps / teacher DDIM 2 steps", base, lcm, 2, ddim, 2, TARGET_VS_2),
                target("google fine-tune: LCM-LoRA 2 steps / its DDIM 2 steps", finetune, lcm, 2, ddim, 2, TARGET_VS_2));
    }

    /**
     * Why "LCM 4 steps <= 0.5 x DDIM 4 steps" cannot hold when the teacher is converged at 4 DDIM steps: the student is
     * distilled towards the teacher's PF-ODE solution, which DDIM 50 approximates, so it cannot beat the teacher's
     * converged FID by much; with DDIM 4 / DDIM 50 = r, the target asks for LCM 4 <= 0.5 r x DDIM 50. One line per
     * teacher: r with its paired interval and the factor by which the student would have to beat DDIM 50.
     */
    static List<String> convergence(Sweep base, Sweep finetune) {
        List<String> lines = new ArrayList<>();
        lines.add("Is the teacher converged at 4 DDIM steps? (context for the 4-step target; a distilled student aims at "
                + "the teacher's ODE solution, i.e. DDIM 50, not below it)");
        for (Sweep s : List.of(base, finetune)) {
            String who = s == base ? "twitter teacher" : "google fine-tune";
            Target t = target(who + ": DDIM 4 steps / DDIM 50 steps", s, SchedulerKind.DDIM, 4, SchedulerKind.DDIM, 50,
                    Double.NaN);
            String iv = t.interval() == null ? "" : String.format(Locale.ROOT, " [%.2f, %.2f]", t.interval().low(),
                    t.interval().high());
            lines.add(String.format(Locale.ROOT, "- %s: %.2f%s; LCM 4 <= 0.5 x DDIM 4 would need LCM 4 <= %.2f x DDIM 50, "
                    + "i.e. the student beating its converged teacher by %.1fx", t.what(), t.ratio(), iv, 0.5 * t.ratio(),
                    1 / (0.5 * t.ratio())));
        }
        return lines;
    }

    /** The LoRA step counts whose per-category colour diversity is compared with the teacher's DDIM 50. */
    static final int[] DIVERSITY_LCM_STEPS = {4, 2};

    /**
     * The colour diversity per category (the "red blob": a LoRA that draws every flag alike keeps the per-prompt
     * colour distance but loses this), LCM-LoRA at 4 and 2 steps minus the teacher's DDIM 50 with paired intervals
     * (the same resamples of each category's prompts in both settings), per teacher; then the categories whose
     * difference is below zero over its whole interval. Empty when the sweeps have no colour column or no labels.
     */
    static List<String> diversityByCategory(Sweep base, Sweep finetune) {
        List<String> lines = new ArrayList<>();
        SweepResults.Setting b50 = base.result(SchedulerKind.DDIM, 50);
        if (b50 == null || b50.colourDiversityByLabel() == null || b50.colourDiversityByLabel().isEmpty()) {
            return lines;
        }
        String level = Math.round(100 * base.results().bootstrap().level()) + "%";
        List<Sweep> sweeps = List.of(base, finetune);
        List<String> names = List.of("twitter", "google");
        // 1. header: per teacher the references' and DDIM 50's diversity, then one paired difference per LoRA step count
        StringBuilder head = new StringBuilder("| category (prompts) |");
        StringBuilder rule = new StringBuilder("|---|");
        for (String n : names) {
            head.append(" references ").append(n).append(" | DDIM 50 ").append(n).append(" |");
            rule.append("---:|---:|");
            for (int k : DIVERSITY_LCM_STEPS) {
                head.append(" LCM ").append(k).append(" - DDIM 50 ").append(n).append(" [").append(level).append("] |");
                rule.append("---:|");
            }
        }
        lines.add("");
        lines.add("Colour diversity by category, LCM-LoRA minus the teacher's DDIM 50 (paired: the same bootstrap resamples "
                + "of each category's prompts in both settings; below 0 = the LoRA draws that category's prompts more "
                + "alike than its teacher does):");
        lines.add("");
        lines.add(head.toString());
        lines.add(rule.toString());
        // 2. each teacher's DDIM 50 and LCM-LoRA settings, then one row per category of the base sweep, in its order
        SweepResults.Setting[] ddim = new SweepResults.Setting[sweeps.size()];
        SweepResults.Setting[][] lcm = new SweepResults.Setting[sweeps.size()][DIVERSITY_LCM_STEPS.length];
        for (int t = 0; t < sweeps.size(); t++) {
            ddim[t] = sweeps.get(t).result(SchedulerKind.DDIM, 50);
            for (int k = 0; k < DIVERSITY_LCM_STEPS.length; k++) {
                lcm[t][k] = sweeps.get(t).result(SchedulerKind.LCM, DIVERSITY_LCM_STEPS[k]);
            }
        }
        List<List<String>> lower = List.of(new ArrayList<>(), new ArrayList<>());
        int[] judged = new int[sweeps.size()];
        for (SweepResults.LabelScore label : b50.colourDiversityByLabel()) {
            StringBuilder row = new StringBuilder("| ").append(label.label()).append(" (").append(label.prompts())
                    .append(") |");
            for (int t = 0; t < sweeps.size(); t++) {
                Sweep s = sweeps.get(t);
                SweepResults.LabelScore ref = labelScore(s.results().referenceColourDiversityByLabel(), label.label());
                SweepResults.LabelScore d50 = ddim[t] == null ? null : labelScore(ddim[t].colourDiversityByLabel(), label.label());
                row.append(' ').append(ref == null ? "-" : String.format(Locale.ROOT, "%.3f", ref.mean())).append(" | ")
                        .append(d50 == null ? "-" : String.format(Locale.ROOT, "%.3f", d50.mean())).append(" |");
                for (int k = 0; k < DIVERSITY_LCM_STEPS.length; k++) {
                    SweepResults.Setting lk = lcm[t][k];
                    SweepResults.LabelScore l = lk == null ? null : labelScore(lk.colourDiversityByLabel(), label.label());
                    if (l == null || d50 == null) {
                        row.append(" - |");
                        continue;
                    }
                    PromptBootstrap.Interval iv = s.results().labelDifferenceInterval(l, d50);
                    double diff = l.mean() - d50.mean();
                    row.append(String.format(Locale.ROOT, " %+.3f", diff)).append(iv == null ? ""
                            : String.format(Locale.ROOT, " [%+.3f, %+.3f]", iv.low(), iv.high())).append(" |");
                    if (k == 0 && iv != null) {
                        judged[t]++;
                        if (iv.high() < 0) {
                            lower.get(t).add(String.format(Locale.ROOT, "%s %+.3f", label.label(), diff));
                        }
                    }
                }
            }
            lines.add(row.toString());
        }
        // 3. the categories the LoRA flattens at 4 steps, per teacher
        lines.add("");
        for (int t = 0; t < sweeps.size(); t++) {
            lines.add(String.format(Locale.ROOT, "- %s: LCM-LoRA %d steps less diverse than DDIM 50 over the whole %s "
                    + "interval in %d of %d categories%s", names.get(t), DIVERSITY_LCM_STEPS[0], level,
                    lower.get(t).size(), judged[t],
                    lower.get(t).isEmpty() ? "" : ": " + String.join(", ", lower.get(t))));
        }
        return lines;
    }

    private static SweepResults.LabelScore labelScore(List<SweepResults.LabelScore> scores, String label) {
        if (scores == null) {
            return null;
        }
        return scores.stream().filter(l -> l.label().equals(label)).findFirst().orElse(null);
    }

    /** FID(a) / FID(b) of one sweep with the interval of the paired bootstrap replicates. */
    private static Target target(String what, Sweep sweep, SchedulerKind sa, int na, SchedulerKind sb,
            int nb, double bound) {
        SweepResults.Setting a = sweep.result(sa, na);
        SweepResults.Setting b = sweep.result(sb, nb);
        return new Target(what, sweep.fid(sa, na) / sweep.fid(sb, nb), sweep.results().fidRatioInterval(a, b), bound);
    }

    private static String fid(SweepResults.Setting r) {
        return r == null ? "-" : String.format(Locale.ROOT, "%.2f", r.fid());
    }

    private static String interval(SweepResults.Setting r) {
        return r == null || r.fidInterval() == null ? "-"
                : String.format(Locale.ROOT, "[%.2f, %.2f]", r.fidInterval().low(), r.fidInterval().high());
    }

    /** The mean probability of the prompt's category with its interval, e.g. "0.62 [0.58, 0.66]". */
    private static String alignment(SweepResults.Setting r) {
        return r == null ? "-" : withInterval(r.alignment(), r.alignmentInterval(), "%.2f");
    }

    /** The mean colour distance to the prompts' own references with its interval, e.g. "0.312 [0.296, 0.330]". */
    private static String colour(SweepResults.Setting r) {
        return r == null ? "-" : withInterval(r.colour(), r.colourInterval(), "%.3f");
    }

    /** The mean colour diversity across prompts with its interval. */
    private static String diversity(SweepResults.Setting r) {
        return r == null ? "-" : withInterval(r.colourDiversity(), r.colourDiversityInterval(), "%.3f");
    }

    /** A value and its interval in one number format, "-" for no value. */
    private static String withInterval(Double v, SweepResults.Interval iv, String format) {
        if (v == null) {
            return "-";
        }
        return String.format(Locale.ROOT, format, v) + (iv == null ? ""
                : String.format(Locale.ROOT, " [" + format + ", " + format + "]", iv.low(), iv.high()));
    }

    /** "n / ref" of the twitter sweep, and of the google one when it differs. */
    private static String counts(SweepResults.Setting rb, SweepResults.Setting rf) {
        String b = rb == null ? "-" : rb.samples() + " / " + rb.referenceSamples();
        String f = rf == null ? "-" : rf.samples() + " / " + rf.referenceSamples();
        return b.equals(f) ? b : b + "; google " + f;
    }

    /** A grid row: a sweep's setting, labelled. */
    record Row(String label, Sweep sweep, SchedulerKind scheduler, int steps) {}

    static List<String> grids(DemoPaths paths, Sweep b, Sweep f) throws IOException {
        SchedulerKind lcm = SchedulerKind.LCM;
        SchedulerKind ddim = SchedulerKind.DDIM;
        List<String> names = new ArrayList<>();
        names.add(grid(paths, "grid_teacher_ddim4_vs_ddim50.png", "twitter teacher",
                List.of(new Row("DDIM 4", b, ddim, 4), new Row("DDIM 50", b, ddim, 50))));
        List<Row> lcmRows = new ArrayList<>();
        for (SweepSetting s : SweepSetting.expand(b.config())) {
            if (s.scheduler() == lcm && !s.adapters().isEmpty()) {
                lcmRows.add(new Row("LCM " + s.steps() + (s.steps() == 1 ? " step" : " steps"), b, lcm, s.steps()));
            }
        }
        names.add(grid(paths, "grid_lcm_lora_steps.png", "twitter teacher + LCM-LoRA", lcmRows));
        names.add(grid(paths, "grid_google_with_without_lora.png", "google fine-tune (the LoRA never saw it)",
                List.of(new Row("DDIM 4", f, ddim, 4), new Row("DDIM 50", f, ddim, 50),
                        new Row("+ LoRA, LCM 4", f, lcm, 4))));
        names.add(grid(paths, "grid_overview.png", "held-out prompts, same seed in every row",
                List.of(new Row("twitter DDIM 4", b, ddim, 4), new Row("twitter DDIM 50", b, ddim, 50),
                        new Row("twitter+LoRA 4", b, lcm, 4), new Row("google DDIM 4", f, ddim, 4),
                        new Row("google DDIM 50", f, ddim, 50), new Row("google+LoRA 4", f, lcm, 4))));
        return names;
    }

    /** Rows of settings (labelled on the left) over the first prompts, first seed. */
    private static String grid(DemoPaths paths, String file, String title, List<Row> rows) throws IOException {
        List<List<BufferedImage>> images = new ArrayList<>();
        List<String> labels = new ArrayList<>();
        List<String> columns = new ArrayList<>();
        for (Row r : rows) {
            EvalConfig c = r.sweep().config();
            List<EvalPrompt> prompts = EvalPrompts.read(Path.of(c.prompts()));
            int n = Math.min(GRID_PROMPTS, prompts.size());
            SweepSetting s = r.sweep().setting(r.scheduler(), r.steps());
            SweepLayout layout = new SweepLayout(Path.of(c.outputDir()));
            List<BufferedImage> row = new ArrayList<>();
            for (EvalPrompt p : prompts.subList(0, n)) {
                Path img = layout.image(s, p, c.seeds().get(0));
                BufferedImage bi = ImageIO.read(img.toFile());
                if (bi == null) {
                    throw new IOException(img + ": not a readable image");
                }
                row.add(bi);
                if (images.isEmpty()) {
                    columns.add(p.prompt().split(",")[0]);
                }
            }
            images.add(row);
            labels.add(r.label());
        }
        BufferedImage grid = SampleGrid.draw(title, columns, labels, LABEL_WIDTH, images, CELL);
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        ImageIO.write(grid, "png", png);
        AtomicFiles.writeBytes(paths.out().resolve(file), png.toByteArray());
        return file;
    }
}
