package io.lcmlora.train.demo;

import io.lcmlora.io.FileTrees;
import io.lcmlora.train.config.EvalConfig;
import io.lcmlora.train.config.TrainConfig;
import io.lcmlora.train.config.YamlConfig;
import io.lcmlora.train.distill.Distiller;
import io.lcmlora.train.emoji.EmojiManifest;
import io.lcmlora.schedule.SchedulerKind;
import io.lcmlora.train.config.ConfigException;
import io.lcmlora.train.eval.EvalPrompt;
import io.lcmlora.train.eval.EvalPrompts;
import io.lcmlora.train.eval.EvalRun;
import io.lcmlora.train.eval.EvalSweep;
import io.lcmlora.train.eval.FeatureExtractors;
import io.lcmlora.train.eval.PipelineGenerator;
import io.lcmlora.train.eval.ReporterProgress;
import io.lcmlora.train.eval.SweepLayout;
import io.lcmlora.train.eval.SweepResults;
import io.lcmlora.train.eval.SweepSetting;
import io.lcmlora.train.parallel.Shard;
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
import java.util.function.DoubleSupplier;
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
    /**
     * Demo options: train the teacher and classifier from scratch, prompts per style (0 = every held-out caption), and
     * the DDIM and LCM step counts of the sweeps (null = those of {@code configs/demo/eval-*.yaml}); the report's
     * ratios and grids need DDIM {@value #REQUIRED_DDIM_TEXT} and LCM {@value #REQUIRED_LCM_TEXT} steps.
     */
    public record Options(boolean fromScratch, int prompts, List<Integer> ddimSteps, List<Integer> lcmSteps) {
        public Options {
            if (prompts < 0 || prompts == 1) {
                throw new IllegalArgumentException("--prompts must be 0 (all held-out captions) or >= 2 (FID needs a "
                        + "covariance), got " + prompts);
            }
            ddimSteps = steps("--ddim-steps", ddimSteps, REQUIRED_DDIM);
            lcmSteps = steps("--lcm-steps", lcmSteps, REQUIRED_LCM);
        }

        public Options(boolean fromScratch, int prompts) {
            this(fromScratch, prompts, null, null);
        }

        private static List<Integer> steps(String flag, List<Integer> steps, List<Integer> required) {
            if (steps == null) {
                return null;
            }
            if (!steps.containsAll(required)) {
                throw new IllegalArgumentException(flag + " must include " + required + " (the report's ratios and "
                        + "grids use them), got " + steps);
            }
            if (steps.stream().anyMatch(n -> n < 1) || steps.stream().distinct().count() != steps.size()) {
                throw new IllegalArgumentException(flag + " must be distinct step counts >= 1, got " + steps);
            }
            return List.copyOf(steps);
        }

        /** These options as {@link DemoWorker} arguments (before the stage name). */
        List<String> toArgs() {
            List<String> a = new ArrayList<>();
            if (fromScratch) {
                a.add("--from-scratch");
            }
            a.add("--prompts");
            a.add(Integer.toString(prompts));
            if (ddimSteps != null) {
                a.add("--ddim-steps");
                a.add(join(ddimSteps));
            }
            if (lcmSteps != null) {
                a.add("--lcm-steps");
                a.add(join(lcmSteps));
            }
            return a;
        }

        private static String join(List<Integer> steps) {
            return String.join(",", steps.stream().map(String::valueOf).toList());
        }
    }

    /** DDIM step counts the report needs: its ratios use 2, 4 and 50, the grids 4 and 50. */
    static final List<Integer> REQUIRED_DDIM = List.of(2, 4, 50);
    static final String REQUIRED_DDIM_TEXT = "2, 4 and 50";
    /** LCM step counts the report needs: its ratios use 2 and 4, the grids 4. */
    static final List<Integer> REQUIRED_LCM = List.of(2, 4);
    static final String REQUIRED_LCM_TEXT = "2 and 4";

    /** The engine's thread properties: the demo sets one of each unless the user chose. */
    public static final String ENGINE_THREADS = "ai.djl.pytorch.num_threads";
    public static final String ENGINE_INTEROP_THREADS = "ai.djl.pytorch.num_interop_threads";

    /**
     * Workers of the stage graph: the machine the demo is sized for has 2 cores, and each worker is one child JVM with
     * one engine thread.
     */
    static final int WORKERS = 2;

    /**
     * Each style's teacher-only images are generated in this many shards, chained (one after another, never two of a
     * style at once, so one process writes a setting's timing file), so that the worker that finishes distilling picks
     * up the remaining shards: with the measured stage costs (README, demo section) 3 shards balance the two workers
     * to within a minute.
     */
    static final int IMAGE_SHARDS = 3;

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

    /** What happened to a stage: skipped or run, when it started (seconds since the demo started) and for how long. */
    public record StageResult(String name, boolean skipped, double start, double seconds) {
        double end() {
            return start + seconds;
        }
    }

    private final DemoPaths paths;
    private final Options options;
    private final PrintStream out;

    public DemoRun(DemoPaths paths, Options options, PrintStream out) {
        this.paths = paths;
        this.options = options;
        this.out = out;
    }

    /**
     * Runs the stages (skipping finished ones): the setup stages one after another in this JVM, then the graph of the
     * heavy stages on {@link #WORKERS} child JVMs ({@link #graph}), then the report; prints each stage's start, end and
     * length, how much the graph's stages overlapped, and the total.
     */
    public List<StageResult> run() throws IOException {
        if (!Files.isDirectory(paths.configs())) {
            throw new IOException(paths.configs() + " not found: run tools/lcm demo from the repository root");
        }
        long t0 = System.nanoTime();
        DoubleSupplier clock = () -> (System.nanoTime() - t0) / 1e9;
        List<StageResult> results = new ArrayList<>(runStages(setup(), out, clock));
        double graphStart = clock.getAsDouble();
        List<StageResult> graph = StageGraph.run(graph(), WORKERS, out, clock);
        double graphWall = clock.getAsDouble() - graphStart;
        results.addAll(graph);
        results.addAll(runStages(List.of(report()), out, clock));
        double total = clock.getAsDouble();
        out.println();
        out.println("stage times (seconds since the demo started; the heavy stages run " + WORKERS
                + " at a time, each in its own JVM):");
        for (StageResult r : results) {
            out.printf(Locale.ROOT, "  %-30s %s%n", r.name(), r.skipped() ? "skipped (output exists)"
                    : String.format(Locale.ROOT, "%7.1f s  (%7.1f .. %7.1f)", r.seconds(), r.start(), r.end()));
        }
        double busy = graph.stream().mapToDouble(StageResult::seconds).sum();
        out.printf(Locale.ROOT, "  concurrent stages: %.1f s of stage time in %.1f s of wall time (%.1f s overlapped, "
                + "%.2fx)%n", busy, graphWall, busy - graphWall, graphWall > 0 ? busy / graphWall : 0);
        out.println();
        out.print(Files.readString(paths.out().resolve(DemoReport.REPORT)));
        out.println();
        out.printf(Locale.ROOT, "demo: total %.1f s (%.1f min) on %d cores; report %s%n", total, total / 60,
                Runtime.getRuntime().availableProcessors(), paths.out().resolve(DemoReport.REPORT));
        out.flush();
        return results;
    }

    /** Runs stages in order on this thread; each is skipped when its output exists, else run and timed. */
    public static List<StageResult> runStages(List<Stage> stages, PrintStream out, DoubleSupplier clock)
            throws IOException {
        List<StageResult> results = new ArrayList<>();
        for (Stage s : stages) {
            if (s.done().test()) {
                out.println("[" + s.name() + "] skipped: " + s.produces() + " exists");
                results.add(new StageResult(s.name(), true, clock.getAsDouble(), 0));
                continue;
            }
            out.println("[" + s.name() + "] -> " + s.produces());
            out.flush();
            results.add(runOne(s, out, clock));
        }
        return results;
    }

    /** Runs one stage, checks that it left its output, prints and returns its time. */
    static StageResult runOne(Stage s, PrintStream out, DoubleSupplier clock) throws IOException {
        double start = clock.getAsDouble();
        s.action().run();
        double sec = clock.getAsDouble() - start;
        if (!s.produced().test()) {
            throw new IOException("stage " + s.name() + " finished but " + s.produces() + " is missing");
        }
        out.printf(Locale.ROOT, "[%s] done in %.1f s (%.1f .. %.1f)%n", s.name(), sec, start, start + sec);
        out.flush();
        return new StageResult(s.name(), false, start, sec);
    }

    /** Every stage in the order {@link #run} starts them (the graph's in list order). */
    public List<Stage> stages() {
        List<Stage> s = new ArrayList<>(setup());
        graph().forEach(n -> s.add(n.stage()));
        s.add(report());
        return s;
    }

    /** The setup stages, run one after another in this JVM: data, prep, and the classifier and teachers. */
    List<Stage> setup() {
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
        return s;
    }

    /**
     * The heavy stages and what each needs first:
     * <ol>
     *   <li>distill: the LCM-LoRA, from the twitter teacher;</li>
     *   <li>teacher-images-STYLE-iofN: the teacher-only settings' images (DDIM, no adapter) of each style, which do not
     *       need the LoRA, in {@link #IMAGE_SHARDS} chained shards, alongside distill;</li>
     *   <li>eval-STYLE (once distill and its style's teacher images are done): the LoRA settings' images and every
     *       setting's FID, interval and alignment (the whole {@code lcm eval}, finding the teacher images on disk); the
     *       two styles' evals can run at once.</li>
     * </ol>
     * Each runs in a child JVM ({@link DemoWorker}), not on a thread of this one: DJL's grad mode is per thread (it is
     * off only on the thread that loaded the engine, so inference on another thread would record autograd graphs),
     * only one GradientCollector may be open per JVM (a static flag), and the static caches of the model code (Ops,
     * TorchScriptCall) were written for one thread; a process also has its own engine thread pool and can be killed
     * when the other worker fails. The cost is a JVM start and a model load per stage (seconds).
     */
    List<StageGraph.Node> graph() {
        List<StageGraph.Node> g = new ArrayList<>();
        g.add(new StageGraph.Node(new Stage(DISTILL, loraFile().toString(), () -> Files.isRegularFile(loraFile()),
                child(DISTILL)), List.of()));
        List<String> styles = List.of(DemoPaths.STYLE_BASE, DemoPaths.STYLE_FINETUNE);
        Map<String, List<String>> shards = new LinkedHashMap<>();
        for (int i = 0; i < IMAGE_SHARDS; i++) {
            for (String style : styles) { // interleaved, so that both styles' shards go to whichever worker is free
                List<String> before = shards.computeIfAbsent(style, k -> new ArrayList<>());
                String name = teacherImagesStage(style, i);
                g.add(new StageGraph.Node(new Stage(name, "shard " + i + "/" + IMAGE_SHARDS + " of the teacher-only "
                        + "images in " + paths.eval(style), () -> teacherImagesDone(style), child(name), () -> true),
                        before.isEmpty() ? List.of() : List.of(before.get(before.size() - 1))));
                before.add(name);
            }
        }
        for (String style : styles) {
            List<String> after = new ArrayList<>(shards.get(style));
            after.add(DISTILL);
            g.add(new StageGraph.Node(new Stage("eval-" + style, paths.eval(style).resolve("results.json").toString(),
                    () -> evalDone(style), child("eval-" + style)), after));
        }
        return g;
    }

    /** The report, last, in this JVM (it reads PNGs and JSON only). */
    Stage report() {
        return new Stage("report", paths.out().resolve(DemoReport.REPORT) + " and grids", this::reportDone,
                () -> DemoReport.write(paths, evalConfig(DemoPaths.STYLE_BASE), evalConfig(DemoPaths.STYLE_FINETUNE), out));
    }

    static final String DISTILL = "distill";

    static String teacherImagesStage(String style, int shard) {
        return "teacher-images-" + style + "-" + shard + "of" + IMAGE_SHARDS;
    }

    /** A graph stage's action: {@link DemoWorker} runs {@link #runInProcess(String)} of the stage in a child JVM. */
    private Action child(String stage) {
        return () -> ChildJvm.run(stage, ChildJvm.command(DemoWorker.class.getName(), workerArgs(stage)), out);
    }

    /** The child JVM's arguments for a stage: this run's paths and options, then the stage's name. */
    List<String> workerArgs(String stage) {
        List<String> a = new ArrayList<>(List.of("--repo", paths.repo().toAbsolutePath().toString(),
                "--out", paths.out().toAbsolutePath().toString()));
        a.addAll(options.toArgs());
        a.add(stage);
        return a;
    }

    /** What a graph stage does, in this process (what its child JVM runs). */
    void runInProcess(String stage) throws IOException {
        if (stage.equals(DISTILL)) {
            Distiller.run(distillConfig(), out);
            return;
        }
        for (String style : List.of(DemoPaths.STYLE_BASE, DemoPaths.STYLE_FINETUNE)) {
            if (stage.equals("eval-" + style)) {
                EvalRun.run(evalConfig(style), PipelineGenerator::open, FeatureExtractors.standard(),
                        new ReporterProgress(out, false), out);
                return;
            }
            for (int i = 0; i < IMAGE_SHARDS; i++) {
                if (stage.equals(teacherImagesStage(style, i))) {
                    long n = EvalSweep.generateShard(teacherOnly(evalConfig(style)), PipelineGenerator::open,
                            new ReporterProgress(out, false), new Shard(i, IMAGE_SHARDS));
                    out.println(stage + ": " + n + " images in " + paths.eval(style));
                    return;
                }
            }
        }
        throw new IllegalArgumentException("no demo stage named '" + stage + "' runs in a worker; the stages are "
                + graph().stream().map(StageGraph.Node::name).toList());
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

    /**
     * {@code configs/demo/eval-<style>.yaml} with the demo's paths, and the DDIM and LCM settings' step counts replaced
     * by {@code --ddim-steps} / {@code --lcm-steps} when given; the result must have the steps the report needs.
     */
    public EvalConfig evalConfig(String style) throws IOException {
        Path file = paths.config("eval-" + style + ".yaml");
        EvalConfig c = EvalConfig.load(file, List.of(
                "models=[{name: teacher-" + style + ", path: " + quote(paths.teacher(style)) + "}]",
                "adapters=[{name: lcm-lora, file: " + quote(loraFile()) + ", weight: 1.0}]",
                "prompts=" + quote(paths.prompts(style)),
                "features.weights=" + quote(paths.classifier()),
                "output_dir=" + quote(paths.eval(style))));
        return withSteps(c, file, options.ddimSteps(), options.lcmSteps());
    }

    /**
     * {@code c} with every DDIM setting's steps replaced by {@code ddim} and every LCM setting's by {@code lcm} (null
     * keeps the config's), checked to have the step counts the report needs ({@link #REQUIRED_DDIM} among the
     * teacher-only DDIM settings, {@link #REQUIRED_LCM} among the LoRA's LCM settings).
     */
    static EvalConfig withSteps(EvalConfig c, Path file, List<Integer> ddim, List<Integer> lcm) {
        List<EvalConfig.SettingSpec> settings = new ArrayList<>();
        for (EvalConfig.SettingSpec s : c.settings()) {
            List<Integer> steps = switch (s.scheduler()) {
                case DDIM -> ddim != null ? ddim : s.steps();
                case LCM -> lcm != null ? lcm : s.steps();
                case TCD, EULER -> s.steps();
            };
            settings.add(new EvalConfig.SettingSpec(s.name(), s.model(), s.scheduler(), steps, s.guidance(),
                    s.adapters(), s.timesteps(), s.spacing(), s.eta()));
        }
        EvalConfig out = c.withAdaptersAndSettings(c.adapters(), settings);
        requireSteps(out, file, SchedulerKind.DDIM, false, REQUIRED_DDIM);
        requireSteps(out, file, SchedulerKind.LCM, true, REQUIRED_LCM);
        return out;
    }

    private static void requireSteps(EvalConfig c, Path file, SchedulerKind kind, boolean adapter, List<Integer> need) {
        List<Integer> have = SweepSetting.expand(c).stream()
                .filter(s -> s.scheduler() == kind && s.adapters().isEmpty() != adapter).map(SweepSetting::steps).toList();
        if (!have.containsAll(need)) {
            throw new ConfigException("settings", file + ": the demo's report needs " + (adapter ? "LoRA " : "teacher ")
                    + EvalConfig.schedulerName(kind) + " settings with " + need + " steps, the config has " + have);
        }
    }

    /**
     * The teacher-only part of a sweep (the settings with no adapter, and no adapters), what runs alongside the
     * distillation: its images are the same files (names, prompts, seeds) as the full sweep's, which finds them on disk.
     */
    static EvalConfig teacherOnly(EvalConfig c) {
        return c.withAdaptersAndSettings(List.of(), c.settings().stream().filter(s -> s.adapters().isEmpty()).toList());
    }

    /** Every image of the style's teacher-only settings is on disk. */
    private boolean teacherImagesDone(String style) throws IOException {
        EvalConfig c = teacherOnly(evalConfig(style));
        if (!Files.isRegularFile(Path.of(c.prompts()))) {
            return false;
        }
        List<EvalPrompt> prompts = EvalPrompts.read(Path.of(c.prompts()));
        SweepLayout layout = new SweepLayout(Path.of(c.outputDir()));
        for (SweepSetting s : SweepSetting.expand(c)) {
            for (SweepLayout.Image img : layout.images(s, prompts, c.seeds(), c.imagesPerPrompt())) {
                if (!SweepLayout.done(img.file())) {
                    return false;
                }
            }
        }
        return true;
    }

    /**
     * One engine (PyTorch) thread per process unless the user chose otherwise (before the engine starts): the demo's
     * models are so small that each op is microseconds, and on a busy 2-core machine a 2-thread OpenMP team waits for
     * a descheduled thread on every op (measured: DDIM 50 steps of one 32 px image, 82 s with 2 threads vs 4 s with 1).
     * The demo's parallelism is its two worker processes instead.
     */
    public static void oneEngineThread() {
        for (String key : new String[] {ENGINE_THREADS, ENGINE_INTEROP_THREADS}) {
            if (System.getProperty(key) == null) {
                System.setProperty(key, "1");
            }
        }
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
     * The sweep's results exist and are of the current prompt count, images per prompt and settings (a prep with other
     * --prompts, or other steps, redoes the eval) and of the current format (older results without intervals are
     * redone; their images and features are reused).
     */
    private boolean evalDone(String style) throws IOException {
        Path file = paths.eval(style).resolve(SweepLayout.RESULTS_JSON);
        if (!Files.isRegularFile(file)) {
            return false;
        }
        SweepResults r = SweepResults.fromJson(Files.readString(file));
        EvalConfig c = evalConfig(style);
        return r.version() == SweepResults.VERSION && r.promptCount() == promptsWanted()
                && r.imagesPerPrompt() == c.imagesPerPrompt()
                && r.settings().stream().map(SweepResults.Setting::name).toList()
                        .equals(SweepSetting.expand(c).stream().map(SweepSetting::name).toList());
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
