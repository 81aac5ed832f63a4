package io.lcmlora.train.distill;

import io.lcmlora.engine.Precision;
import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonObject;
import io.lcmlora.io.AtomicFiles;
import io.lcmlora.io.ConfigJson;
import io.lcmlora.io.DType;
import io.lcmlora.model.unet.UNet2DConditionModel;
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
import io.lcmlora.train.loop.LrSchedule;
import io.lcmlora.train.loop.Rng;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.imageio.ImageIO;

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

    /** Test hooks (both off by default). */
    public record Options(long stopAfterStep, long poisonStep) {
        public static Options defaults() {
            return new Options(Long.MAX_VALUE, -1);
        }

        /** Stops (as if killed, without the final export) once this many steps are done. */
        public Options stopAfter(long step) {
            return new Options(step, poisonStep);
        }

        /** Makes the loss of this step NaN. */
        public Options poison(long step) {
            return new Options(stopAfterStep, step);
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
        config.requireRunnable();
        if (config.model().isSingleFile() && config.model().unet() == null) {
            throw new ConfigException("model.path", "single-file checkpoints are not supported by distill yet; "
                    + "point model.path at a diffusers SDXL folder");
        }
        Path dir = Path.of(config.outputDir());
        Files.createDirectories(dir);
        Device device = device(config.precision());
        DataType weights = weightsType(config.precision(), device, out);
        Checkpoints checkpoints = new Checkpoints(dir, config.checkpointing().keepLast());
        checkpoints.removeStale();
        Optional<Checkpoint> resume = checkpoints.resume(config.checkpointing().resume());
        if (resume.isPresent()) {
            checkCompatible(config, resume.get());
        }

        long maxSteps = config.distill().maxTrainSteps();
        try (TrainingData data = openData(config, device, weights, out);
                NDManager nd = NDManager.newBaseManager(device)) {
            UNet2DConditionModel unet = UNet2DConditionModel.load(config.model().component("unet"),
                    config.model().variant(), nd, weights);
            SchedulerConfig schedulerConfig = schedulerConfig(config);
            NoiseSchedule schedule = NoiseSchedule.of(schedulerConfig);
            try (LoraTrainer trainer = new LoraTrainer(unet, schedule, config, nd)) {
                Loop loop = new Loop(config, data, trainer, nd);
                long step = 0;
                if (resume.isPresent()) {
                    step = loop.restore(resume.get());
                    out.println("resumed from " + resume.get().dir() + " at step " + step);
                } else if (config.checkpointing().resume() != null) {
                    out.println("no checkpoint in " + dir + ": starting from step 0");
                }
                TrainLog log = TrainLog.open(dir.resolve(TRAIN_LOG), step);
                Path logDir = config.logging().dir() != null ? Path.of(config.logging().dir()) : dir.resolve("logs");
                List<StepLog> logs = new ArrayList<>();
                long start = step;
                Optional<Path> lastCheckpoint = resume.map(Checkpoint::dir);
                try (TensorBoardWriter tb = config.logging().tensorboard() ? TensorBoardWriter.open(logDir) : null;
                        LcmValidator validator = new LcmValidator(config, schedulerConfig)) {
                    ProgressReporter progress = new ProgressReporter(out, out == System.out && System.console() != null,
                            maxSteps, step, config.logging().every(), System::nanoTime);
                    LrSchedule lr = LrSchedule.of(config.optim(), config.distill());
                    while (step < maxSteps && step < options.stopAfterStep()) {
                        long t0 = System.nanoTime();
                        double rate = lr.lr(step);
                        LoraTrainer.Update u;
                        try {
                            u = trainer.update(loop::micro, rate, step + 1, step + 1 == options.poisonStep());
                        } catch (NonFiniteLossException e) {
                            throw new NonFiniteLossException(e.step(), e.getMessage() + ". The run stops; "
                                    + (lastCheckpoint.isPresent() ? "the last good checkpoint is " + lastCheckpoint.get()
                                            + " (continue from it with --resume latest, e.g. after lowering optim.learning_rate)"
                                            : "no checkpoint was written yet"));
                        }
                        step++;
                        double seconds = (System.nanoTime() - t0) / 1e9;
                        double ips = loop.imagesPerStep() / seconds;
                        StepLog s = new StepLog(step, u.loss(), rate, u.gradNorm(), seconds, ips);
                        logs.add(s);
                        log.append(s);
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
                        if (step % config.checkpointing().every() == 0 || step == maxSteps) {
                            lastCheckpoint = Optional.of(checkpoints.save(loop.snapshot(step)));
                        }
                        if (config.validation().every() > 0 && step % config.validation().every() == 0) {
                            validate(validator.render(unet), step, dir, tb, progress);
                        }
                    }
                }
                Path finalLora = null;
                if (step >= maxSteps) {
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

    private static void progress(PrintStream out, String s) {
        out.println(s);
    }

    /** Writes the grid atomically to {@code validation/step-<step>.png} and to TensorBoard. */
    private static void validate(BufferedImage grid, long step, Path dir, TensorBoardWriter tb, ProgressReporter progress)
            throws IOException {
        Path png = dir.resolve("validation").resolve(String.format("step-%06d.png", step));
        Files.createDirectories(png.getParent());
        AtomicFiles.write(png, os -> ImageIO.write(grid, "png", os));
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

    /** The device of {@code precision.device} ({@link DeviceSpec}: auto picks the GPU when the engine sees one). */
    static Device device(PrecisionConfig p) {
        try {
            return p.deviceSpec().resolve();
        } catch (IllegalArgumentException e) {
            throw new ConfigException("precision.device", e.getMessage());
        }
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

    static SchedulerConfig schedulerConfig(TrainConfig config) throws IOException {
        Path f;
        try {
            f = config.model().component("scheduler").resolve("scheduler_config.json");
        } catch (ConfigException e) {
            return SchedulerConfig.sdxl();
        }
        return Files.isRegularFile(f) ? SchedulerConfig.fromJson(ConfigJson.read(f)) : SchedulerConfig.sdxl();
    }

    static TrainingData openData(TrainConfig config, Device device, DataType weights, PrintStream out) throws IOException {
        if (!config.cache().enabled()) {
            out.println("latent cache: disabled, encoding every batch");
            return LiveData.open(config, ConditioningEncoder.load(config.model(), device, weights));
        }
        Path dir = config.cache().dir() != null ? Path.of(config.cache().dir()) : Path.of(config.outputDir(), "cache");
        return LatentCache.openOrBuild(config, dir, () -> {
            try {
                return ConditioningEncoder.load(config.model(), device, weights);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }, out);
    }

    /** A resumed run must train the same LoRA on the same data order and draws. */
    static void checkCompatible(TrainConfig config, Checkpoint cp) {
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
        if (!saved.data().equals(config.data())) {
            diff.add("data");
        }
        if (saved.distill().trainBatchSize() != config.distill().trainBatchSize()
                || saved.distill().gradientAccumulationSteps() != config.distill().gradientAccumulationSteps()) {
            diff.add("distill.train_batch_size/gradient_accumulation_steps");
        }
        if (!diff.isEmpty()) {
            throw new ConfigException("checkpointing.resume", cp.dir() + " was trained with different " + diff
                    + " settings than this config; resume with the checkpoint's config.yaml or start a new output_dir");
        }
    }

    /** Data order, draws and batch assembly; its state is what a checkpoint needs besides weights and optimizer. */
    static final class Loop {
        private final TrainConfig config;
        private final TrainingData data;
        private final LoraTrainer trainer;
        private final NDManager nd;
        private final int[] buckets;
        private final int batchSize;
        private final Map<String, Rng> rngs = new LinkedHashMap<>();
        private Rng epochStart;
        private List<int[]> epoch;
        private int cursor;
        private long epochs;

        Loop(TrainConfig config, TrainingData data, LoraTrainer trainer, NDManager nd) {
            this.config = config;
            this.data = data;
            this.trainer = trainer;
            this.nd = nd;
            this.buckets = data.buckets();
            this.batchSize = config.distill().trainBatchSize();
            long seed = config.seed();
            for (String name : List.of("data", "timestep", "guidance", "noise", "latent", "augment")) {
                rngs.put(name, Rng.stream(seed, name));
            }
        }

        int imagesPerStep() {
            return batchSize * config.distill().gradientAccumulationSteps();
        }

        /** Restores weights, optimizer, Rng states and data position; returns the step. */
        long restore(Checkpoint cp) throws IOException {
            cp.restoreLora(trainer.lora().masters());
            cp.restoreOptimizer(trainer.optimizer());
            rngs.replaceAll((name, r) -> cp.rng(name));
            JsonObject s = cp.state();
            epochs = s.get("epochs").getAsLong();
            if (epochs > 0) {
                epochStart = rngs.get("data").copy();
                epoch = AspectBuckets.batches(buckets, batchSize, rngs.get("data"));
                cursor = s.get("cursor").getAsInt();
            }
            return cp.step();
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
            return new Checkpoints.Snapshot(step, trainer.lora().masters(), trainer.optimizer(), saved, config.toYaml(), state);
        }

        private int[] nextBatch() {
            if (epoch == null || cursor == epoch.size()) {
                epochStart = rngs.get("data").copy();
                epoch = AspectBuckets.batches(buckets, batchSize, rngs.get("data"));
                cursor = 0;
                epochs++;
                if (epoch.isEmpty()) {
                    throw new IllegalArgumentException("distill.train_batch_size " + batchSize + " is larger than the "
                            + data.size() + " usable examples (of any one aspect bucket): no full batch can be formed");
                }
            }
            return epoch.get(cursor++);
        }

        /** Micro-batch {@code i} of the current step: the next batch of examples with its draws. */
        LoraTrainer.Micro micro(int i) {
            int[] positions = nextBatch();
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
            for (int k = 0; k < b; k++) {
                CachedExample e = examples.get(k);
                rngs.get("latent").fillGaussian(eps);
                System.arraycopy(e.sampleLatent(eps, data.scalingFactor()), 0, latents, k * lat, lat);
                System.arraycopy(e.promptEmbeds(), 0, embeds, k * emb, emb);
                System.arraycopy(e.pooled(), 0, pooled, k * pool, pool);
                System.arraycopy(e.timeIds(), 0, timeIds, k * 6, 6);
            }
            Shape latentShape = new Shape(b, ls[0], ls[1], ls[2]);
            long[] es = first.embedShape();
            LcdStep.Batch batch = new LcdStep.Batch(nd.create(latents, latentShape), // [B, C, h, w], scaled
                    nd.create(embeds, new Shape(b, es[0], es[1])), // [B, T, D]
                    nd.create(pooled, new Shape(b, pool)), // [B, P]
                    nd.create(timeIds, new Shape(b, 6))); // [B, 6]
            int n = config.distill().numDdimTimesteps();
            long[] index = new long[b];
            float[] w = new float[b];
            for (int k = 0; k < b; k++) {
                index[k] = rngs.get("timestep").nextInt(n);
                w[k] = (float) rngs.get("guidance").uniform(config.distill().wMin(), config.distill().wMax());
            }
            NDArray noise = rngs.get("noise").randn(nd, latentShape);
            return new LoraTrainer.Micro(batch, new LcdStep.Draws(index, noise, w));
        }
    }
}
