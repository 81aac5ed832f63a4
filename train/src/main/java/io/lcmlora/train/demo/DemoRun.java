package io.lcmlora.train.demo;

import io.lcmlora.io.FileTrees;
import io.lcmlora.train.config.EvalConfig;
import io.lcmlora.train.config.TrainConfig;
import io.lcmlora.train.config.YamlConfig;
import io.lcmlora.train.distill.Distiller;
import io.lcmlora.train.emoji.EmojiManifest;
import io.lcmlora.train.eval.EvalRun;
import io.lcmlora.train.eval.FeatureExtractors;
import io.lcmlora.train.eval.PipelineGenerator;
import io.lcmlora.train.eval.ReporterProgress;
import io.lcmlora.train.eval.SweepLayout;
import io.lcmlora.train.eval.SweepResults;
import io.lcmlora.train.pretrain.Pretrain;
import io.lcmlora.train.pretrain.PretrainConfig;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * {@code tools/lcm demo}: the whole emoji demo from a fresh clone, stage by stage: fetch the emoji packages, build the
 * data sets, prepare the distillation manifest and held-out prompt files, the FID feature classifier, the twitter
 * teacher and its google fine-tune (copied from the shipped weights, or trained with {@code lcm pretrain} when
 * {@code fromScratch}), LCM-LoRA distillation ({@link Distiller}, what {@code lcm distill} runs), the FID sweeps
 * ({@link EvalRun#run}, what {@code lcm eval} runs) and the report (table and grids). A stage whose output exists
 * is skipped, so a rerun resumes after the last finished stage.
 */
public final class DemoRun {
    /** Demo options: train the teacher and classifier from scratch, prompts per style (0 = every held-out caption). */
    public record Options(boolean fromScratch, int prompts) {
        public Options {
            if (prompts < 0 || prompts == 1) {
                throw new IllegalArgumentException("--prompts must be 0 (all held-out captions) or >= 2 (FID needs a "
                        + "covariance), got " + prompts);
            }
        }
    }

    /** A stage's work. */
    @FunctionalInterface
    public interface Action {
        void run() throws IOException;
    }

    /** A stage's completion test. */
    @FunctionalInterface
    public interface Done {
        boolean test() throws IOException;
    }

    /**
     * One stage: its name, what it produces (shown when skipped), whether the stage can be skipped, the work, and the
     * check that the work left its output ({@code done} itself for most stages).
     */
    public record Stage(String name, String produces, Done done, Action action, Done produced) {
        public Stage(String name, String produces, Done done, Action action) {
            this(name, produces, done, action, done);
        }
    }

    /** What happened to a stage. */
    public record StageResult(String name, boolean skipped, double seconds) {}

    private final DemoPaths paths;
    private final Options options;
    private final PrintStream out;

    public DemoRun(DemoPaths paths, Options options, PrintStream out) {
        this.paths = paths;
        this.options = options;
        this.out = out;
    }

    /** Runs every stage in order (skipping finished ones) and prints the stage times and the total. */
    public List<StageResult> run() throws IOException {
        if (!Files.isDirectory(paths.configs())) {
            throw new IOException(paths.configs() + " not found: run tools/lcm demo from the repository root");
        }
        long t0 = System.nanoTime();
        List<StageResult> results = runStages(stages(), out);
        double total = (System.nanoTime() - t0) / 1e9;
        out.println();
        out.println("stage times:");
        for (StageResult r : results) {
            out.printf(Locale.ROOT, "  %-16s %s%n", r.name(), r.skipped() ? "skipped (output exists)"
                    : String.format(Locale.ROOT, "%7.1f s", r.seconds()));
        }
        out.println();
        out.print(Files.readString(paths.out().resolve(DemoReport.REPORT)));
        out.println();
        out.printf(Locale.ROOT, "demo: total %.1f s (%.1f min) on %d cores; report %s%n", total, total / 60,
                Runtime.getRuntime().availableProcessors(), paths.out().resolve(DemoReport.REPORT));
        out.flush();
        return results;
    }

    /** Runs stages in order; each is skipped when its output exists, else run and timed. */
    public static List<StageResult> runStages(List<Stage> stages, PrintStream out) throws IOException {
        List<StageResult> results = new ArrayList<>();
        for (Stage s : stages) {
            if (s.done().test()) {
                out.println("[" + s.name() + "] skipped: " + s.produces() + " exists");
                results.add(new StageResult(s.name(), true, 0));
                continue;
            }
            out.println("[" + s.name() + "] -> " + s.produces());
            out.flush();
            long t = System.nanoTime();
            s.action().run();
            double sec = (System.nanoTime() - t) / 1e9;
            if (!s.produced().test()) {
                throw new IOException("stage " + s.name() + " finished but " + s.produces() + " is missing");
            }
            out.printf(Locale.ROOT, "[%s] done in %.1f s%n", s.name(), sec);
            out.flush();
            results.add(new StageResult(s.name(), false, sec));
        }
        return results;
    }

    /** The demo's stages, in order. */
    public List<Stage> stages() {
        String base = DemoPaths.STYLE_BASE;
        String fine = DemoPaths.STYLE_FINETUNE;
        List<Stage> s = new ArrayList<>();
        // the script keeps tarballs whose sha512 matches its pinned values, so it runs (offline) whenever data is missing
        s.add(new Stage("fetch", "the verified tarballs in " + paths.downloads(), this::dataBuilt, this::fetch,
                () -> Files.isRegularFile(paths.tarball(base)) && Files.isRegularFile(paths.tarball(fine))));
        s.add(new Stage("data", paths.manifest32(base) + ", " + paths.manifest32(fine), this::dataBuilt, this::buildData));
        s.add(new Stage("prep", paths.prep().toString(), () -> Files.isRegularFile(paths.trainManifest())
                && Files.isRegularFile(paths.prompts(base)) && Files.isRegularFile(paths.prompts(fine))
                && promptCount(paths.prompts(base)) == promptsWanted(), this::prep));
        s.add(new Stage("classifier", paths.classifier().toString(),
                () -> Files.isRegularFile(paths.classifier().resolve("model.safetensors")), this::classifier));
        s.add(new Stage("teacher-" + base, paths.teacher(base).toString(), () -> teacherDone(base), this::teacherBase));
        s.add(new Stage("teacher-" + fine, paths.teacher(fine).toString(), () -> teacherDone(fine), this::teacherFine));
        s.add(new Stage("distill", loraFile().toString(), () -> Files.isRegularFile(loraFile()),
                () -> Distiller.run(distillConfig(), out)));
        for (String style : List.of(base, fine)) {
            s.add(new Stage("eval-" + style, paths.eval(style).resolve("results.json").toString(),
                    () -> evalDone(style), () -> EvalRun.run(
                            evalConfig(style), PipelineGenerator::open, FeatureExtractors.standard(),
                            new ReporterProgress(out, false), out)));
        }
        s.add(new Stage("report", paths.out().resolve(DemoReport.REPORT) + " and grids", this::reportDone,
                () -> DemoReport.write(paths, evalConfig(base), evalConfig(fine), out)));
        return s;
    }

    /** The final LoRA the distill stage exports. */
    public Path loraFile() {
        return paths.lora().resolve(Distiller.FINAL_LORA);
    }

    /** {@code configs/demo/distill.yaml} with the demo's paths. */
    public TrainConfig distillConfig() throws IOException {
        return TrainConfig.load(paths.config("distill.yaml"), List.of(
                "model.path=" + quote(paths.teacher(DemoPaths.STYLE_BASE)),
                "data.paths=[" + quote(paths.trainManifest()) + "]",
                "output_dir=" + quote(paths.lora())));
    }

    /** {@code configs/demo/eval-<style>.yaml} with the demo's paths. */
    public EvalConfig evalConfig(String style) throws IOException {
        return EvalConfig.load(paths.config("eval-" + style + ".yaml"), List.of(
                "models=[{name: teacher-" + style + ", path: " + quote(paths.teacher(style)) + "}]",
                "adapters=[{name: lcm-lora, file: " + quote(loraFile()) + ", weight: 1.0}]",
                "prompts=" + quote(paths.prompts(style)),
                "features.weights=" + quote(paths.classifier()),
                "output_dir=" + quote(paths.eval(style))));
    }

    /** A from-scratch teacher stage's config ({@code configs/demo/<file>}) with the demo's paths. */
    PretrainConfig pretrainConfig(String file) throws IOException {
        PretrainConfig c = YamlConfig.load(PretrainConfig.class, PretrainConfig.defaults(), paths.config(file), List.of());
        List<String> set = new ArrayList<>();
        set.add("data=" + quote(paths.emoji()));
        switch (c.stage()) {
            case VAE, TEXT -> set.add("output_dir=" + quote(paths.parts()));
            case UNET -> {
                set.add("base=" + quote(paths.parts()));
                set.add("output_dir=" + quote(paths.teacher(c.style())));
            }
            case FINETUNE -> {
                set.add("base=" + quote(paths.teacher(DemoPaths.STYLE_BASE)));
                set.add("output_dir=" + quote(paths.teacher(c.style())));
            }
        }
        return YamlConfig.load(PretrainConfig.class, PretrainConfig.defaults(), paths.config(file), set);
    }

    private boolean dataBuilt() {
        return Files.isRegularFile(paths.manifest32(DemoPaths.STYLE_BASE))
                && Files.isRegularFile(paths.manifest32(DemoPaths.STYLE_FINETUNE));
    }

    /**
     * The sweep's results exist, are of the current prompt count (a prep with other --prompts redoes the eval) and of
     * the current format (older results without intervals are redone; their images and features are reused).
     */
    private boolean evalDone(String style) throws IOException {
        Path results = paths.eval(style).resolve(SweepLayout.RESULTS_JSON);
        return Files.isRegularFile(results)
                && SweepResults.fromJson(Files.readString(results)).promptCount() == promptsWanted()
                && SweepResults.fromJson(Files.readString(results)).version() == SweepResults.VERSION;
    }

    /** The report is newer than both sweeps' results. */
    private boolean reportDone() throws IOException {
        Path report = paths.out().resolve(DemoReport.REPORT);
        if (!Files.isRegularFile(report)) {
            return false;
        }
        for (String style : List.of(DemoPaths.STYLE_BASE, DemoPaths.STYLE_FINETUNE)) {
            Path results = paths.eval(style).resolve(SweepLayout.RESULTS_JSON);
            if (!Files.isRegularFile(results)
                    || Files.getLastModifiedTime(results).compareTo(Files.getLastModifiedTime(report)) > 0) {
                return false;
            }
        }
        return true;
    }

    private boolean teacherDone(String style) {
        return Files.isRegularFile(paths.teacher(style).resolve("model_index.json"));
    }

    private void fetch() throws IOException {
        List<String> cmd = List.of("bash", paths.fetchScript().toString(), paths.downloads().toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try (var in = p.getInputStream()) {
            in.transferTo(out);
        }
        try {
            int rc = p.waitFor();
            if (rc != 0) {
                throw new IOException(String.join(" ", cmd) + " failed (exit " + rc + ")");
            }
        } catch (InterruptedException e) {
            p.destroy();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while fetching", e);
        }
    }

    private void buildData() throws IOException {
        Map<String, Path> tarballs = new LinkedHashMap<>();
        for (String style : EmojiManifest.STYLES) {
            tarballs.put(style, paths.tarball(style));
        }
        EmojiDataset.build(tarballs, paths.heldoutList(), paths.emoji(), false, out::println);
    }

    /** The held-out captions the sweeps use: common to both styles, all of them or --prompts of them. */
    private List<String> captions() throws IOException {
        return DemoPrep.pickCaptions(DemoPrep.heldOutCaptions(List.of(paths.manifest32(DemoPaths.STYLE_BASE),
                paths.manifest32(DemoPaths.STYLE_FINETUNE))), options.prompts());
    }

    /** How many prompts the prompt files should have: --prompts, or with 0 every common held-out caption. */
    private long promptsWanted() throws IOException {
        return options.prompts() != 0 ? options.prompts() : dataBuilt() ? captions().size() : -1;
    }

    private void prep() throws IOException {
        int n = DemoPrep.writeTrainManifest(paths.manifest32(DemoPaths.STYLE_BASE), paths.trainManifest());
        out.println("prep: " + n + " train images -> " + paths.trainManifest());
        List<String> captions = captions();
        for (String style : List.of(DemoPaths.STYLE_BASE, DemoPaths.STYLE_FINETUNE)) {
            int refs = DemoPrep.writePrompts(paths.manifest32(style), captions, paths.prompts(style));
            out.println("prep: " + captions.size() + " held-out prompts (by caption), " + refs + " reference images -> "
                    + paths.prompts(style));
        }
    }

    private void classifier() throws IOException {
        Path shipped = paths.shipped("classifier");
        if (!options.fromScratch() && Files.isRegularFile(shipped.resolve("model.safetensors"))) {
            copyTree(shipped, paths.classifier());
            out.println("classifier: copied the shipped " + shipped + " (--from-scratch trains it, ~3 min)");
            return;
        }
        ClassifierTrainer.Result r = ClassifierTrainer.train(paths.emoji(), EmojiManifest.STYLES, paths.classifier(),
                new ClassifierTrainer.Options(10, 64, 3e-3, 1e-4, 0, ClassifierTrainer.Options.STYLE_WEIGHT), out::println);
        out.printf(Locale.ROOT, "classifier: held-out category accuracy %.3f, style accuracy %.3f, style FID %.2f%n",
                r.heldoutCategoryAccuracy(), r.heldout().styleAccuracy(), r.heldout().styleFid());
    }

    private void teacherBase() throws IOException {
        if (copyShipped("teacher-" + DemoPaths.STYLE_BASE, paths.teacher(DemoPaths.STYLE_BASE))) {
            return;
        }
        for (String file : List.of("pretrain-vae.yaml", "pretrain-text.yaml", "pretrain-unet.yaml")) {
            Pretrain.run(pretrainConfig(file), false, out::println);
        }
    }

    private void teacherFine() throws IOException {
        if (copyShipped("teacher-" + DemoPaths.STYLE_FINETUNE, paths.teacher(DemoPaths.STYLE_FINETUNE))) {
            return;
        }
        Pretrain.run(pretrainConfig("finetune-google.yaml"), false, out::println);
    }

    /** Copies shipped weights unless training from scratch; false when there is nothing to copy. */
    private boolean copyShipped(String name, Path target) throws IOException {
        Path shipped = paths.shipped(name);
        if (options.fromScratch() || !Files.isRegularFile(shipped.resolve("model_index.json"))) {
            if (!options.fromScratch()) {
                out.println(name + ": no shipped weights in " + shipped + ", training from scratch");
            }
            return false;
        }
        copyTree(shipped, target);
        out.println(name + ": copied the shipped " + shipped + " (--from-scratch trains it with lcm pretrain)");
        return true;
    }

    /** Copies a folder tree into a temporary sibling, then renames it into place (so the target is complete or absent). */
    static void copyTree(Path from, Path to) throws IOException {
        if (Files.exists(to)) {
            throw new FileAlreadyExistsException(to + " (remove it to copy " + from + " again)");
        }
        Path tmp = to.resolveSibling(to.getFileName() + ".tmp");
        FileTrees.deleteTree(tmp);
        try (Stream<Path> files = Files.walk(from)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Path dst = tmp.resolve(from.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(dst);
                } else {
                    Files.copy(f, dst, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
        Files.move(tmp, to, StandardCopyOption.ATOMIC_MOVE);
    }

    private static long promptCount(Path promptFile) throws IOException {
        try (Stream<String> lines = Files.lines(promptFile)) {
            return lines.filter(l -> !l.isBlank()).count();
        }
    }

    /** A path as a YAML string value for {@code --set}. */
    static String quote(Path p) {
        return "'" + p.toString().replace("'", "''") + "'";
    }
}
