package io.lcmlora.train.distill;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.lcmlora.bench.LoopStats;
import io.lcmlora.bench.Memory;
import io.lcmlora.bench.RandomWeights;
import io.lcmlora.bench.UNetBenchmark;
import io.lcmlora.bench.Workload;
import io.lcmlora.bench.WorkloadBenchmark;
import io.lcmlora.model.unet.UNet2DConditionConfig;
import io.lcmlora.model.unet.UNet2DConditionModel;
import io.lcmlora.schedule.NoiseSchedule;
import io.lcmlora.schedule.SchedulerConfig;
import io.lcmlora.train.config.TrainConfig;
import io.lcmlora.train.loop.Rng;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Step time and peak RSS of distillation ({@code lcm bench distill}): a real config run end to end (cached or
 * uncached data, the first step excluded as warm-up), or a random-weight UNet preset ({@code mid}: SDXL's layout at a
 * quarter width) with random batches, which measures the LCD update alone. Run each in its own JVM for a clean
 * peak RSS.
 */
public final class DistillBenchmark {
    private DistillBenchmark() {}

    /** Mean seconds of steps 2..N and the peak RSS. */
    public record Result(String what, int steps, double meanStepSeconds, double peakRssMiB) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "distill %s: %d timed steps, %.3f s/step, peak RSS %.0f MiB", what, steps,
                    meanStepSeconds, peakRssMiB);
        }
    }

    /** Runs {@code config} for {@code steps} steps with the cache on or off in a scratch folder. */
    public static Result config(TrainConfig base, boolean cached, int steps, Path scratch, PrintStream log) throws IOException {
        List<String> o = new ArrayList<>(List.of("distill.max_train_steps=" + steps, "output_dir=" + scratch.resolve("run"),
                "cache.enabled=" + cached, "cache.dir=" + scratch.resolve("cache"), "validation.every=0",
                "checkpointing.every=" + 1_000_000, "logging.tensorboard=false"));
        TrainConfig c = TrainConfig.parse(base.toYaml(), o);
        if (cached) {
            // build the cache outside the timed run
            TrainConfig warm = TrainConfig.parse(c.toYaml(), List.of("distill.max_train_steps=1",
                    "output_dir=" + scratch.resolve("warm")));
            Distiller.run(warm, log);
        }
        Memory.resetPeak();
        Distiller.RunResult r = Distiller.run(c, log);
        double total = 0;
        for (Distiller.StepLog s : r.steps().subList(1, r.steps().size())) {
            total += s.seconds();
        }
        int timed = r.steps().size() - 1;
        return new Result((cached ? "cached" : "uncached") + " batch " + c.distill().trainBatchSize() + " res "
                + c.data().resolution(), timed, total / timed, Memory.peakRssMiB());
    }

    /** The LCD update on a random-weight UNet preset with random batches (latent {@code latent}x{@code latent}). */
    public static Result preset(String preset, int latent, int batch, int steps, int rank) throws IOException {
        UNet2DConditionConfig cfg = UNetBenchmark.preset(preset);
        TrainConfig config = TrainConfig.parse("lora: {rank: " + rank + ", alpha: " + rank + ".0}\n"
                + "distill: {train_batch_size: " + batch + "}\nprecision: {device: cpu, weights_dtype: fp32}\n");
        try (NDManager nd = NDManager.newBaseManager()) {
            UNet2DConditionModel unet = new UNet2DConditionModel(
                    RandomWeights.of(nd, vb -> new UNet2DConditionModel(vb, cfg), 0.02, DataType.FLOAT32), cfg);
            Memory.resetPeak();
            int ctx = cfg.crossAttentionDim()[0];
            int pooled = cfg.projectionClassEmbeddingsInputDim() - 6 * cfg.additionTimeEmbedDim();
            Rng rng = Rng.seeded(1);
            try (LoraTrainer trainer = new LoraTrainer(unet, NoiseSchedule.of(SchedulerConfig.sdxl()), config, nd)) {
                double total = 0;
                for (int s = 0; s <= steps; s++) {
                    long t0 = System.nanoTime();
                    trainer.update(i -> {
                        Shape ls = new Shape(batch, cfg.inChannels(), latent, latent);
                        float[] ids = new float[6 * batch];
                        for (int k = 0; k < batch; k++) {
                            System.arraycopy(new float[] {8f * latent, 8f * latent, 0, 0, 8f * latent, 8f * latent}, 0, ids, 6 * k, 6);
                        }
                        long[] index = new long[batch];
                        float[] w = new float[batch];
                        for (int k = 0; k < batch; k++) {
                            index[k] = rng.nextInt(50);
                            w[k] = (float) rng.uniform(3, 15);
                        }
                        return new LoraTrainer.Micro(new LcdStep.Batch(rng.randn(nd, ls), rng.randn(nd, new Shape(batch, 77, ctx)),
                                rng.randn(nd, new Shape(batch, pooled)), nd.create(ids, new Shape(batch, 6))),
                                new LcdStep.Draws(index, rng.randn(nd, ls), w));
                    }, 1e-4, s + 1, false);
                    if (s > 0) {
                        total += (System.nanoTime() - t0) / 1e9;
                    }
                }
                return new Result(String.format(Locale.ROOT, "%s unet (%,d params) rank %d latent %dx%d batch %d", preset,
                        unet.parameterCount(), rank, latent, latent, batch), steps, total / steps, Memory.peakRssMiB());
            }
        }
    }

    /**
     * {@code lcd_step} of the side-by-side workloads: one optimizer update of LCM-LoRA distillation per iteration with
     * cached latents (fixed latents and conditioning, fresh draws n, noise and w each step), as the reference script's
     * loop body: student fwd+bwd with a rank-r LoRA on the LCM-LoRA targets (alpha = r), teacher cond + uncond with
     * adapters off and the target pass without gradients, pseudo-Huber c = 0.001, global-norm clipping at 1.0, AdamW
     * (lr 1e-6, weight decay 0.01). {@code accumulation} micro-batches per update (1 = the reference setting);
     * {@code profile}, when non-null, the Chrome trace of the timed updates ({@link LoopStats#run}).
     */
    public static LoopStats workload(Workload w, int warmup, int iters, int accumulation, Path profile) throws IOException {
        TrainConfig config = TrainConfig.parse("lora: {rank: " + w.rank() + ", alpha: " + w.rank() + ".0}\n"
                + "distill: {train_batch_size: " + w.batch() + ", gradient_accumulation_steps: " + accumulation
                + ", loss: huber, huber_c: 0.001}\noptim: {weight_decay: 0.01, max_grad_norm: 1.0}\n"
                + "precision: {device: cpu, weights_dtype: fp32}\n");
        try (NDManager nd = NDManager.newBaseManager()) {
            UNet2DConditionModel unet = WorkloadBenchmark.unet(w, nd);
            UNet2DConditionConfig cfg = unet.config();
            Rng rng = Rng.seeded(1);
            Shape ls = new Shape(w.batch(), cfg.inChannels(), w.latent(), w.latent());
            NDArray latents = rng.randn(nd, ls);
            WorkloadBenchmark.Conditioning c = WorkloadBenchmark.Conditioning.random(nd, cfg, w.batch());
            try (LoraTrainer trainer = new LoraTrainer(unet, NoiseSchedule.of(SchedulerConfig.sdxl()), config, nd)) {
                String measure = accumulation == 1 ? Workload.Measure.LCD_STEP.id()
                        : Workload.Measure.LCD_STEP.id() + "_accum" + accumulation;
                return LoopStats.run(w.name(), measure, warmup, iters, s -> trainer.update(i -> {
                    long[] index = new long[w.batch()];
                    float[] gw = new float[w.batch()];
                    for (int k = 0; k < w.batch(); k++) {
                        index[k] = rng.nextInt(50);
                        gw[k] = (float) rng.uniform(3, 15);
                    }
                    return new LoraTrainer.Micro(new LcdStep.Batch(latents, c.context(), c.textEmbeds(), c.timeIds()),
                            new LcdStep.Draws(index, rng.randn(latents.getManager(), ls), gw));
                }, 1e-6, s + 1, false), profile);
            }
        }
    }
}
