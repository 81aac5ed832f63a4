package io.lcmlora.train.distill;

import io.lcmlora.engine.Precision;
import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.lcmlora.io.AtomicFiles;
import io.lcmlora.io.ConfigJson;
import io.lcmlora.io.DType;
import io.lcmlora.io.FiniteWeights;
import io.lcmlora.io.NonFiniteWeightsException;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.model.unet.UNet2DConditionModel;
import io.lcmlora.pipeline.PngImages;
import io.lcmlora.schedule.NoiseSchedule;
import io.lcmlora.schedule.SchedulerConfig;
import io.lcmlora.train.config.ConfigException;
import io.lcmlora.train.config.PrecisionConfig;
import io.lcmlora.train.config.TrainConfig;
import io.lcmlora.train.data.AspectBuckets;
import io.lcmlora.train.log.ProgressReporter;
import io.lcmlora.train.log.TensorBoardWriter;
import io.lcmlora.train.loop.Checkpoint;
import io.lcmlora.train.loop.Checkpoints;
import io.lcmlora.train.loop.LossScaler;
import io.lcmlora.train.loop.LrSchedule;
import io.lcmlora.train.loop.Rng;
import io.lcmlora.train.parallel.DistributedException;
import io.lcmlora.train.parallel.World;
import io.lcmlora.train.loop.RunLock;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * {@code lcm distill}: LCM-LoRA distillation of a frozen SDXL teacher (diffusers {@code train_lcm_distill_lora_sdxl.py}
 * as the numerical reference, {@link LcdStep} for one step). Per optimizer step: {@code gradient_accumulation_steps}
 * micro-batches drawn from the data order, each with its draws (DDIM index n ~ U{0..N-1}, w ~ U[w_min, w_max), noise
 * and the VAE latent sample from Java {@link Rng} streams, so a resumed run draws the same numbers); clip; AdamW;
 * log; checkpoint every {@code checkpointing.every} steps (and at the end); validation every
 * {@code validation.every}. The run folder ({@code output_dir}) gets:
 * <pre>
 *   checkpoint-&lt;step&gt;/               LoRA masters, AdamW state, Rng states, data position, resolved config
 *   cache/                           latent cache (unless cache.dir says elsewhere)
 *   logs/events.out.tfevents.*       TensorBoard scalars and validation images
 *   train_log.jsonl                  one line per step: step, loss, lr, grad_norm, seconds, images/s
 *   validation/step-&lt;step&gt;.png      validation grids
 *   pytorch_lora_weights.safetensors the final LoRA (diffusers/PEFT keys, fp32), as the reference script writes
 * </pre>
 */
public final class Distiller {
    /** The final LoRA's file name (what diffusers' {@code save_lora_weights} writes). */
    public static final String FINAL_LORA = "pytorch_lora_weights.safetensors";
    public static final String TRAIN_LOG = "train_log.jsonl";

    private Distiller() {}

    /** Test hooks (all off by default). */
    public record Options(long stopAfterStep, long poisonStep, boolean cpuFp16) {
        public static Options defaults() {
            return new Options(Long.MAX_VALUE, -1, false);
        }

        /** Stops (as if killed, without the final export) once this many steps are done. */
        public Options stopAfter(long step) {
            return new Options(step, poisonStep, cpuFp16);
        }

        /** Makes the loss of this step NaN. */
        public Options poison(long step) {
            return new Options(stopAfterStep, step, cpuFp16);
        }

        /**
         * Keeps {@code precision.weights_dtype: fp16} on the CPU too (normally fp32 there), so the fp16 path (loss
         * scaling, overflow skips, its checkpoint state) runs in tests without a GPU.
         */
        public Options fp16OnCpu() {
            return new Options(stopAfterStep, poisonStep, true);
        }
    }

    /** One logged step. */
    public record StepLog(long step, float loss, double lr, double gradNorm, double seconds, double imagesPerSecond) {}

    /**
     * What a run did.
     *
     * @param steps the steps this session ran (a resumed run starts after its checkpoint)
     * @param finalLora the exported LoRA, or null when the run stopped early
     */
    public record RunResult(Path outputDir, long startStep, long endStep, List<StepLog> steps, Path finalLora,
            boolean cacheBuilt, boolean encodersLoaded, Optional<Path> lastCheckpoint) {}

    public static RunResult run(TrainConfig config, PrintStream out) throws IOException {
        return run(config, out, Options.defaults());
    }

    public static RunResult run(TrainConfig config, PrintStream out, Options options) throws IOException {
        return run(config, out, options, World.single());
    }

    /**
     * Runs on every rank of {@code world} (data parallel): {@code distill.train_batch_size} is the per-rank batch, the
     * global batch is that times the world size, and every rank computes the draws of the whole global batch and
     * trains on its rows, so any world size gives the losses and LoRA of one process with the global batch. Only rank
     * 0 writes (checkpoints, logs, TensorBoard, validation, export) and prints.
     */
    public static RunResult run(TrainConfig config, PrintStream out, Options options, World world) throws IOException {
        if (!world.isMainProcess()) {
            out = new PrintStream(OutputStream.nullOutputStream());
        }
        config.requireRunnable();
        world.agree("the resolved config (sha-256 of --print-config)", configHash(config));
        if (world.size() > 1 && !config.cache().enabled()) {
            throw new DistributedException("cache.enabled is false, but data-parallel training (" + world.size()
                    + " ranks) reads its per-rank shards from the latent cache: set cache.enabled: true");
        }
        if (config.model().isSingleFile() && config.model().unet() == null) {
            throw new ConfigException("model.path", "single-file checkpoints are not supported by distill yet; "
                    + "point model.path at a diffusers SDXL folder");
        }
        Path dir = Path.of(config.outputDir());
        requireFolder("output_dir", dir);
        if (config.cache().dir() != null) {
            requireFolder("cache.dir", Path.of(config.cache().dir()));
        }
        if (config.logging().dir() != null) {
            requireFolder("logging.dir", Path.of(config.logging().dir()));
        }
        if (!world.isMainProcess()) { // rank 0 holds the output_dir lock for the whole job
            return runLocked(config, dir, out, options, world);
        }
        try (RunLock lock = RunLock.acquire(dir, "lcm distill", out)) {
            return runLocked(config, dir, out, options, world);
        }
    }

    /** The run itself, with {@code dir} locked by rank 0. */
    private static RunResult runLocked(TrainConfig config, Path dir, PrintStream out, Options options, World world)
            throws IOException {
        Device device = world.device(config.precision());
        DataType weights = options.cpuFp16() && config.precision().weightsDtype() == Precision.FP16
                ? DataType.FLOAT16 : weightsType(config.precision(), device, out);
        Checkpoints checkpoints = new Checkpoints(dir, config.checkpointing().keepLast());
        if (world.isMainProcess()) {
            checkpoints.removeStale();
            removeStaleTemps(dir, out);
        }
        world.barrier();
        Optional<Checkpoint> resume = checkpoints.resume(config.checkpointing().resume());
        world.agree("the checkpoint step to resume from (-1: none; every rank must see rank 0's output_dir)",
                resume.map(Checkpoint::step).orElse(-1L));
        if (resume.isPresent()) {
            checkCompatible(config, resume.get(), world.size());
        }
        SchedulerConfig schedulerConfig = schedulerConfig(config);

        long maxSteps = config.distill().maxTrainSteps();
        try (TrainingData data = openData(config, device, weights, out, world);
                NDManager nd = NDManager.newBaseManager(device)) {
            UNet2DConditionModel unet = UNet2DConditionModel.load(config.model().component("unet"),
                    config.model().variant(), nd, weights);
            NoiseSchedule schedule = NoiseSchedule.of(schedulerConfig);
            try (LoraTrainer trainer = new LoraTrainer(unet, schedule, config, nd, world)) {
                Loop loop = new Loop(config, data, trainer, nd, world);
                long step = 0;
                if (resume.isPresent()) {
                    step = loop.restore(resume.get(), out);
                    out.println("resumed from " + resume.get().dir() + " at step " + step);
                } else if (config.checkpointing().resume() != null) {
                    out.println("no checkpoint in " + dir + ": starting from step 0");
                }
                boolean main = world.isMainProcess(); // rank 0 alone writes and validates
                TrainLog log = main ? TrainLog.open(dir.resolve(TRAIN_LOG), step) : null;
                Path logDir = config.logging().dir() != null ? Path.of(config.logging().dir()) : dir.resolve("logs");
                List<StepLog> logs = new ArrayList<>();
                long start = step;
                Optional<Path> lastCheckpoint = resume.map(Checkpoint::dir);
                try (TensorBoardWriter tb = main ? openTensorBoard(config, logDir, resume.isPresent(), step) : null;
                        LcmValidator validator = new LcmValidator(config, schedulerConfig)) {
                    ProgressReporter progress = new ProgressReporter(out, out == System.out && System.console() != null,
                            maxSteps, step, config.logging().every(), System::nanoTime);
                    LrSchedule lr = LrSchedule.of(config.optim(), config.distill());
                    if (main && resume.isPresent() && validationDue(config, step) && !Files.exists(validationPng(dir, step))) {
                        // killed while writing the resumed step's validation grid: the atomic write left no PNG
                        validate(validator.render(unet), step, dir, tb, progress);
                    }
                    while (step < maxSteps && step < options.stopAfterStep()) {
                        long current = step + 1;
                        try {
                            long t0 = System.nanoTime();
                            double rate = lr.lr(step);
                            LoraTrainer.Update u;
                            try {
                                u = trainer.update(loop::micro, rate, step + 1, step + 1 == options.poisonStep());
                            } catch (NonFiniteLossException e) {
                                throw new NonFiniteLossException(e.step(), e.getMessage() + ". The run stops; "
                                        + divergenceAdvice(config, checkpoints, resume, e.step(), trainer.lora().mixedPrecision()));
                            }
                            step++;
                            double seconds = (System.nanoTime() - t0) / 1e9;
                            double ips = loop.imagesPerStep() / seconds;
                            StepLog s = new StepLog(step, u.loss(), rate, u.gradNorm(), seconds, ips);
                            logs.add(s);
                            if (main) {
                                log.append(s);
                            }
                            if (tb != null && step % config.logging().every() == 0) {
                                Map<String, Double> scalars = new LinkedHashMap<>();
                                scalars.put("train/loss", (double) u.loss());
                                scalars.put("train/lr", rate);
                                scalars.put("train/grad_norm", u.gradNorm());
                                scalars.put("train/step_time_s", seconds);
                                scalars.put("train/images_per_s", ips);
                                tb.scalars(step, scalars);
                                tb.flush();
                            }
                            progress.step(step, u.loss(), rate, ips);
                            if (u.skipped()) {
                                progress.message("step " + step + ": fp16 gradients overflowed, update skipped, loss scale now "
                                        + trainer.scaler().scale());
                            }
                            if (main && (step % config.checkpointing().every() == 0 || step == maxSteps)) {
                                lastCheckpoint = Optional.of(checkpoints.save(loop.snapshot(step)));
                            }
                            if (main && validationDue(config, step)) {
                                validate(validator.render(unet), step, dir, tb, progress);
                            }
                        } catch (IOException | UncheckedIOException e) {
                            throw atStep(current, e);
                        }
                    }
                }
                Path finalLora = null;
                if (step >= maxSteps && main) {
                    finalLora = dir.resolve(FINAL_LORA);
                    LoraExporter.write(hostTensors(trainer.lora()), LoraExporter.info(config, step),
                            LoraExporter.Format.DIFFUSERS, DType.F32, finalLora);
                    progress(out, "wrote " + finalLora);
                }
                boolean built = data instanceof LatentCache c && c.built();
                return new RunResult(dir, start, step, logs, finalLora, built, data.encodersLoaded(), lastCheckpoint);
            }
        }
    }

    /**
     * What to do after a non-finite loss at {@code failedStep}: the last good checkpoint is the newest complete one
     * written before that step whose weights are all finite. When that is the checkpoint this run resumed from (it
     * diverged again before writing a newer one), resuming it unchanged would repeat the divergence, so the advice
     * is to change the settings that cause it instead.
     */
    static String divergenceAdvice(TrainConfig config, Checkpoints checkpoints, Optional<Checkpoint> resumed, long failedStep,
            boolean mixedPrecision) throws IOException {
        Optional<Path> good = lastGood(checkpoints, failedStep);
        double lr = config.optim().learningRate();
        String lower = "lower optim.learning_rate (now " + lr + ", e.g. --set optim.learning_rate=" + (lr / 10) + ")"
                + (mixedPrecision ? " or precision.loss_scale (now " + config.precision().lossScale() + ", e.g. "
                        + config.precision().lossScale() / 8 + ")" : "");
        if (good.isEmpty()) {
            return "no checkpoint with finite weights was written before step " + failedStep + "; start again with a new "
                    + "output_dir after changing the settings: " + lower;
        }
        Path g = good.get();
        if (resumed.isPresent() && g.equals(resumed.get().dir())) {
            Checkpoint r = resumed.get();
            String was = "";
            try {
                double before = TrainConfig.parse(r.configYaml()).optim().learningRate();
                if (before != lr) {
                    was = " (optim.learning_rate was " + before + " before, " + lr + " now)";
                }
            } catch (RuntimeException e) {
                // an unreadable saved config only loses the comparison
            }
            long after = failedStep - r.step();
            return "it diverged again " + after + (after == 1 ? " step" : " steps") + " after resuming from " + g + was
                    + ", so resuming from it with these settings would repeat this. Before resuming from it again, "
                    + lower + ", or warm up longer (optim.lr_warmup_steps, now " + config.optim().lrWarmupSteps() + ")";
        }
        boolean isLatest = checkpoints.latest().map(g::equals).orElse(false);
        return "the last good checkpoint (finite weights, written before the loss went bad) is " + g + ": continue from it with "
                + (isLatest ? "--resume latest" : "--resume " + g) + ", e.g. after you " + lower;
    }

    /** The newest complete checkpoint written before {@code step} whose LoRA and optimizer state are finite. */
    static Optional<Path> lastGood(Checkpoints checkpoints, long step) throws IOException {
        List<Path> all = checkpoints.complete();
        for (int i = all.size() - 1; i >= 0; i--) {
            Path cp = all.get(i);
            if (Checkpoints.load(cp).step() >= step) {
                continue;
            }
            if (finite(cp.resolve(Checkpoints.LORA)) && finite(cp.resolve(Checkpoints.OPTIMIZER))) {
                return Optional.of(cp);
            }
        }
        return Optional.empty();
    }

    private static boolean finite(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            return true; // a checkpoint without optimizer state
        }
        try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
            FiniteWeights.require(f, f.tensors().keySet(), "");
            return true;
        } catch (NonFiniteWeightsException e) {
            return false;
        }
    }

    private static void progress(PrintStream out, String s) {
        out.println(s);
    }

    private static boolean validationDue(TrainConfig config, long step) {
        return config.validation().every() > 0 && step > 0 && step % config.validation().every() == 0;
    }

    static Path validationPng(Path dir, long step) {
        return dir.resolve("validation").resolve(String.format("step-%06d.png", step));
    }

    private static TensorBoardWriter openTensorBoard(TrainConfig config, Path logDir, boolean resumed, long step)
            throws IOException {
        if (!config.logging().tensorboard()) {
            return null;
        }
        String run = tensorBoardRun(Path.of(config.outputDir()));
        return resumed ? TensorBoardWriter.openResumed(logDir, step, run) : TensorBoardWriter.open(logDir, run);
    }

    /**
     * The name a run's TensorBoard event files end with: {@code run-} and 12 hex digits of the SHA-256 of its
     * absolute {@code output_dir}. Two runs cannot share an output_dir (it is locked), so runs sharing one
     * {@code logging.dir} get different names, and a resumed run (same output_dir) finds its own files.
     */
    static String tensorBoardRun(Path outputDir) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(
                    outputDir.toAbsolutePath().normalize().toString().getBytes(StandardCharsets.UTF_8));
            return "run-" + java.util.HexFormat.of().formatHex(h, 0, 6);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** An I/O failure during a step, naming the step (the cause names the file). */
    private static IOException atStep(long step, Exception e) {
        Throwable cause = e instanceof UncheckedIOException u ? u.getCause() : e;
        return new IOException("step " + step + ": " + e.getMessage()
                + " (the run stops; continue later with --resume latest)", cause);
    }

    /** {@code key}'s folder must be a folder or not exist yet. */
    static void requireFolder(String key, Path p) {
        if (Files.exists(p) && !Files.isDirectory(p)) {
            throw new ConfigException(key, "'" + p + "' is a file; expected a folder (or a path that does not exist yet)");
        }
        for (Path q = p.toAbsolutePath().getParent(); q != null; q = q.getParent()) {
            if (Files.exists(q) && !Files.isDirectory(q)) {
                throw new ConfigException(key, "'" + p + "' lies under '" + q + "', which is a file; expected a folder");
            }
        }
    }

    /** Temp files of atomic writes a crash interrupted (run folder and validation/); this process holds the lock. */
    private static void removeStaleTemps(Path dir, PrintStream out) throws IOException {
        int n = AtomicFiles.deleteStaleTemps(dir) + AtomicFiles.deleteStaleTemps(dir.resolve("validation"));
        if (n > 0) {
            out.println("removed " + n + " temp file(s) of interrupted writes in " + dir);
        }
    }

    /** Writes the grid atomically to {@code validation/step-<step>.png} and to TensorBoard. */
    private static void validate(BufferedImage grid, long step, Path dir, TensorBoardWriter tb, ProgressReporter progress)
            throws IOException {
        Path png = validationPng(dir, step);
        PngImages.write(png, grid, Map.of("step", Long.toString(step)));
        if (tb != null) {
            tb.image("validation", step, grid);
            tb.flush();
        }
        progress.message("validation images: " + png);
    }

    /** The LoRA masters as host tensors (PEFT names). */
    static Map<String, LoraExporter.Tensor> hostTensors(TrainableLora lora) {
        Map<String, LoraExporter.Tensor> m = new LinkedHashMap<>();
        lora.masters().forEach((k, v) -> m.put(k, new LoraExporter.Tensor(v.getShape().getShape(), v.toFloatArray())));
        return m;
    }

    /**
     * The frozen weights' type: fp16 on a GPU (a CPU run computes fp32: fp16 matmuls on CPU are slower), bf16 on any
     * device when the JNI supports it (refused with the fix otherwise), fp32 as asked.
     */
    static DataType weightsType(PrecisionConfig p, Device device, PrintStream out) {
        return switch (p.weightsDtype()) {
            case FP32 -> DataType.FLOAT32;
            case FP16 -> {
                if (device.isGpu()) {
                    yield DataType.FLOAT16;
                }
                out.println("precision: CPU run, frozen weights in fp32 (weights_dtype fp16 applies to GPU runs)");
                yield DataType.FLOAT32;
            }
            case BF16 -> {
                try {
                    yield Precision.BF16.dataType();
                } catch (IllegalArgumentException e) {
                    throw new ConfigException("precision.weights_dtype", e.getMessage());
                }
            }
        };
    }

    /**
     * The noise schedule's config: {@code model.scheduler} (a folder with scheduler_config.json, or that file), which
     * must exist when set; else the model folder's {@code scheduler/}; else (no such folder) SDXL's.
     */
    static SchedulerConfig schedulerConfig(TrainConfig config) throws IOException {
        String explicit = config.model().scheduler();
        if (explicit != null) {
            Path p = Path.of(explicit);
            Path f = Files.isDirectory(p) ? p.resolve("scheduler_config.json") : p;
            if (!Files.isRegularFile(f)) {
                throw new ConfigException("model.scheduler", "'" + explicit + "' " + (Files.isDirectory(p)
                        ? "has no scheduler_config.json" : "does not exist") + "; expected a diffusers scheduler folder "
                        + "(or its scheduler_config.json), or remove the key to use the model's or SDXL's schedule");
            }
            return SchedulerConfig.fromJson(ConfigJson.read(f));
        }
        if (config.model().path() == null || config.model().isSingleFile()) {
            return SchedulerConfig.sdxl();
        }
        Path f = config.model().component("scheduler").resolve("scheduler_config.json");
        return Files.isRegularFile(f) ? SchedulerConfig.fromJson(ConfigJson.read(f)) : SchedulerConfig.sdxl();
    }

    /** SHA-256 of the resolved config (its first 8 bytes), which every rank must share. */
    static long configHash(TrainConfig config) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(config.toYaml().getBytes(StandardCharsets.UTF_8));
            return java.nio.ByteBuffer.wrap(d).getLong();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The training data. With several ranks rank 0 builds the latent cache while the others wait, then they open it;
     * a rank that cannot see it (no shared filesystem) stops with that message instead of building its own.
     */
    static TrainingData openData(TrainConfig config, Device device, DataType weights, PrintStream out, World world)
            throws IOException {
        if (world.size() == 1 || !config.cache().enabled()) {
            return openData(config, device, weights, out);
        }
        Path dir = cacheDir(config);
        TrainingData data = null;
        if (world.isMainProcess()) {
            data = openData(config, device, weights, out);
        }
        world.barrier(); // rank 0 has built (or found) the cache
        if (!world.isMainProcess()) {
            data = LatentCache.openOrBuild(config, dir, () -> {
                throw new IllegalStateException("rank " + world.rank() + " cannot read the latent cache rank 0 built in "
                        + dir + ": put cache.dir (or output_dir) on a filesystem every machine shares, or copy it to the "
                        + "same path on every machine");
            }, out);
        }
        world.agree("the number of cached examples", data.size());
        return data;
    }

    private static Path cacheDir(TrainConfig config) {
        return config.cache().dir() != null ? Path.of(config.cache().dir()) : Path.of(config.outputDir(), "cache");
    }

    static TrainingData openData(TrainConfig config, Device device, DataType weights, PrintStream out) throws IOException {
        if (!config.cache().enabled()) {
            out.println("latent cache: disabled, encoding every batch");
            return LiveData.open(config, ConditioningEncoder.load(config.model(), device, weights));
        }
        Path dir = cacheDir(config);
        return LatentCache.openOrBuild(config, dir, () -> {
            try {
                return ConditioningEncoder.load(config.model(), device, weights);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }, out);
    }

    /** A resumed run must train the same LoRA on the same data order and draws. */
    static void checkCompatible(TrainConfig config, Checkpoint cp, int worldSize) {
        TrainConfig saved;
        try {
            saved = TrainConfig.parse(cp.configYaml());
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(cp.dir().resolve(Checkpoints.CONFIG) + ": unreadable config: " + e.getMessage(), e);
        }
        List<String> diff = new ArrayList<>();
        if (!saved.lora().equals(config.lora())) {
            diff.add("lora");
        }
        if (saved.seed() != config.seed()) {
            diff.add("seed");
        }
        if (!saved.data().resultDefining().equals(config.data().resultDefining())) { // num_workers may change
            diff.add("data");
        }
        JsonObject state = cp.state();
        long savedWorld = state.has("world_size") ? state.get("world_size").getAsLong() : 1;
        // the global batch decides data order and draws: any world size with the same global batch resumes exactly
        if ((long) saved.distill().trainBatchSize() * savedWorld != (long) config.distill().trainBatchSize() * worldSize
                || saved.distill().gradientAccumulationSteps() != config.distill().gradientAccumulationSteps()) {
            diff.add("global batch (distill.train_batch_size x world size " + savedWorld + " then " + worldSize
                    + ")/gradient_accumulation_steps");
        }
        if (!diff.isEmpty()) {
            throw new ConfigException("checkpointing.resume", cp.dir() + " was trained with different " + diff
                    + " settings than this config; resume with the checkpoint's config.yaml or start a new output_dir");
        }
    }

    /**
     * Data order, draws and batch assembly; its state is what a checkpoint needs besides weights and optimizer. With
     * several ranks the data order is made of global batches ({@code batchSize} = per-rank batch x world size) from
     * the same seeded permutation on every rank; rank r trains on rows [r*b, (r+1)*b) of each, and every rank draws
     * the latent samples, n, w and noise of all rows (host RNG, cheap next to a UNet step) and keeps its own. So the
     * Rng states and the cursor are the same on every rank and rank 0's checkpoint resumes all of them.
     */
    static final class Loop {
        static final String LOSS_SCALE = "loss_scale";
        private final TrainConfig config;
        private final TrainingData data;
        private final LoraTrainer trainer;
        private final NDManager nd;
        private final int[] buckets;
        private final int batchSize; // global
        private final int perRank;
        private final World world;
        private final Map<String, Rng> rngs = new LinkedHashMap<>();
        private Rng epochStart;
        private List<int[]> epoch;
        private int cursor;
        private long epochs;

        Loop(TrainConfig config, TrainingData data, LoraTrainer trainer, NDManager nd, World world) {
            this.config = config;
            this.data = data;
            this.trainer = trainer;
            this.nd = nd;
            this.world = world;
            this.buckets = data.buckets();
            this.perRank = config.distill().trainBatchSize();
            this.batchSize = Math.multiplyExact(perRank, world.size());
            long seed = config.seed();
            for (String name : List.of("data", "timestep", "guidance", "noise", "latent", "augment")) {
                rngs.put(name, Rng.stream(seed, name));
            }
        }

        int imagesPerStep() {
            return batchSize * config.distill().gradientAccumulationSteps();
        }

        /** Restores weights, optimizer, loss scale, Rng states and data position; returns the step. */
        long restore(Checkpoint cp, PrintStream out) throws IOException {
            cp.restoreLora(trainer.lora().masters());
            cp.restoreOptimizer(trainer.optimizer());
            rngs.replaceAll((name, r) -> cp.rng(name));
            JsonObject s = cp.state();
            restoreLossScale(cp, s, out);
            epochs = s.get("epochs").getAsLong();
            if (epochs > 0) {
                epochStart = rngs.get("data").copy();
                epoch = AspectBuckets.batches(buckets, batchSize, rngs.get("data"));
                cursor = s.get("cursor").getAsInt();
            }
            return cp.step();
        }

        /**
         * The fp16 loss scale and growth tracker, saved in state.json with the rest of the loop state. A checkpoint
         * written before they were saved continues at {@code precision.loss_scale}, and says so: its next updates may
         * be skipped or applied differently than in the uninterrupted run.
         */
        private void restoreLossScale(Checkpoint cp, JsonObject s, PrintStream out) {
            LossScaler scaler = trainer.scaler();
            String where = cp.dir().resolve(Checkpoints.STATE) + ": state." + LOSS_SCALE;
            if (!s.has(LOSS_SCALE)) {
                if (scaler.isDynamic()) {
                    out.println("note: " + cp.dir().resolve(Checkpoints.STATE) + " holds no fp16 loss scale (written by "
                            + "an older version): continuing at precision.loss_scale " + scaler.scale() + ", so the "
                            + "next steps may skip or apply other updates than the uninterrupted run did");
                }
                return;
            }
            if (!s.get(LOSS_SCALE).isJsonObject()) {
                throw new IllegalArgumentException(where + ": expected an object {dynamic, scale, growth_tracker}, got "
                        + s.get(LOSS_SCALE));
            }
            JsonObject saved = s.getAsJsonObject(LOSS_SCALE);
            if (!scaler.restore(saved, where) && scaler.isDynamic()) {
                out.println("note: " + cp.dir() + " was saved by a run without fp16 loss scaling: starting it at "
                        + "precision.loss_scale " + scaler.scale());
            }
        }

        Checkpoints.Snapshot snapshot(long step) {
            Map<String, Rng> saved = new LinkedHashMap<>(rngs);
            if (epochStart != null) {
                saved.put("data", epochStart); // the epoch's batches are re-drawn from it on resume
            }
            JsonObject state = new JsonObject();
            state.addProperty("step", step);
            state.addProperty("epochs", epochs);
            state.addProperty("cursor", cursor);
            state.addProperty("examples", data.size());
            state.addProperty("world_size", world.size());
            state.addProperty("global_batch_size", batchSize);
            JsonArray rows = new JsonArray(); // rank r reads rows [r*b, (r+1)*b) of the global batch at the cursor
            for (int r = 0; r < world.size(); r++) {
                JsonArray range = new JsonArray();
                range.add(r * perRank);
                range.add((r + 1) * perRank);
                rows.add(range);
            }
            state.add("rank_rows", rows);
            state.add(LOSS_SCALE, trainer.scaler().state()); // the same on every rank: decided on averaged gradients
            return new Checkpoints.Snapshot(step, trainer.lora().masters(), trainer.optimizer(), saved, config.toYaml(), state);
        }

        private int[] nextBatch() {
            if (epoch == null || cursor == epoch.size()) {
                epochStart = rngs.get("data").copy();
                epoch = AspectBuckets.batches(buckets, batchSize, rngs.get("data"));
                cursor = 0;
                epochs++;
                if (epoch.isEmpty()) {
                    throw new IllegalArgumentException("the global batch " + batchSize + " (distill.train_batch_size "
                            + perRank + " x " + world.size() + " ranks) is larger than the " + data.size()
                            + " usable examples (of any one aspect bucket): no full batch can be formed");
                }
            }
            return epoch.get(cursor++);
        }

        /**
         * Micro-batch {@code i} of the current step: this rank's rows of the next global batch with their draws. The
         * draws run over every row of the global batch, in the order one process draws them, so the rows a rank
         * keeps are the ones a single process with the global batch would use.
         */
        LoraTrainer.Micro micro(int i) {
            int[] global = nextBatch(); // B = b x world size positions
            int lo = world.rank() * perRank;
            int hi = lo + perRank;
            int[] positions = Arrays.copyOfRange(global, lo, hi);
            List<CachedExample> examples;
            try {
                examples = data.batch(positions, rngs.get("augment"));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            int b = examples.size();
            CachedExample first = examples.get(0);
            long[] ls = first.latentShape();
            int lat = first.mean().length;
            int emb = first.promptEmbeds().length;
            int pool = first.pooled().length;
            float[] latents = new float[b * lat];
            float[] embeds = new float[b * emb];
            float[] pooled = new float[b * pool];
            float[] timeIds = new float[b * 6];
            float[] eps = new float[lat];
            for (int k = 0; k < global.length; k++) {
                rngs.get("latent").fillGaussian(eps);
                if (k < lo || k >= hi) {
                    continue; // another rank's row: drawn only to keep the stream where one process has it
                }
                CachedExample e = examples.get(k - lo);
                int j = k - lo;
                System.arraycopy(e.sampleLatent(eps, data.scalingFactor()), 0, latents, j * lat, lat);
                System.arraycopy(e.promptEmbeds(), 0, embeds, j * emb, emb);
                System.arraycopy(e.pooled(), 0, pooled, j * pool, pool);
                System.arraycopy(e.timeIds(), 0, timeIds, j * 6, 6);
            }
            Shape latentShape = new Shape(b, ls[0], ls[1], ls[2]);
            long[] es = first.embedShape();
            LcdStep.Batch batch = new LcdStep.Batch(nd.create(latents, latentShape), // [b, C, h, w], scaled
                    nd.create(embeds, new Shape(b, es[0], es[1])), // [b, T, D]
                    nd.create(pooled, new Shape(b, pool)), // [b, P]
                    nd.create(timeIds, new Shape(b, 6))); // [b, 6]
            int n = config.distill().numDdimTimesteps();
            long[] index = new long[b];
            float[] w = new float[b];
            for (int k = 0; k < global.length; k++) {
                int ik = rngs.get("timestep").nextInt(n);
                float wk = (float) rngs.get("guidance").uniform(config.distill().wMin(), config.distill().wMax());
                if (k >= lo && k < hi) {
                    index[k - lo] = ik;
                    w[k - lo] = wk;
                }
            }
            float[] allNoise = new float[Math.multiplyExact(global.length, lat)]; // [B, C, h, w]
            rngs.get("noise").fillGaussian(allNoise);
            NDArray noise = nd.create(Arrays.copyOfRange(allNoise, lo * lat, hi * lat), latentShape); // [b, C, h, w]
            return new LoraTrainer.Micro(batch, new LcdStep.Draws(index, noise, w));
        }
    }
}
