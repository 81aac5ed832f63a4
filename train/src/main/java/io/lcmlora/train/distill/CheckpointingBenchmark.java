package io.lcmlora.train.distill;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.lcmlora.bench.Memory;
import io.lcmlora.bench.RandomWeights;
import io.lcmlora.model.unet.GradientCheckpointing;
import io.lcmlora.model.unet.UNet2DConditionConfig;
import io.lcmlora.model.unet.UNet2DConditionModel;
import io.lcmlora.nn.NoGrad;
import io.lcmlora.schedule.NoiseSchedule;
import io.lcmlora.schedule.SchedulerConfig;
import io.lcmlora.train.config.TrainConfig;
import io.lcmlora.train.loop.Rng;
import java.util.Locale;

/**
 * Memory and time of activation checkpointing ({@code lcm bench checkpointing}) on a random-weight UNet: the LCD
 * update (LoraTrainer, random batches) at one {@code distill.gradient_checkpointing} mode, or one no-grad forward
 * with and without the per-block scopes. One measurement per JVM, so each peak RSS is its own.
 */
public final class CheckpointingBenchmark {
    private CheckpointingBenchmark() {}

    /** The random-weight UNet (seeded). */
    private static UNet2DConditionModel build(NDManager nd, UNet2DConditionConfig cfg) {
        Engine.getInstance().setRandomSeed(0); // the same weights in every process
        return new UNet2DConditionModel(RandomWeights.of(nd, vb -> new UNet2DConditionModel(vb, cfg), 0.02, DataType.FLOAT32), cfg);
    }

    /**
     * Mean seconds of {@code steps} LCD updates (after one untimed warm-up when {@code warmup}), the peak RSS over all
     * of them and the RSS after load.
     */
    public static String step(UNet2DConditionConfig cfg, String name, int latent, int batch, int rank,
            GradientCheckpointing mode, int steps, boolean warmup) {
        if (steps < 1) {
            throw new IllegalArgumentException("steps must be >= 1, got " + steps);
        }
        int first = warmup ? 0 : 1;
        TrainConfig config = TrainConfig.parse("lora: {rank: " + rank + ", alpha: " + rank + ".0}\n"
                + "distill: {train_batch_size: " + batch + ", gradient_checkpointing: " + mode.name().toLowerCase(Locale.ROOT)
                + "}\nprecision: {device: cpu, weights_dtype: fp32}\n");
        try (NDManager nd = NDManager.newBaseManager()) {
            UNet2DConditionModel unet = build(nd, cfg);
            int ctx = cfg.crossAttentionDim()[0];
            int pooled = cfg.projectionClassEmbeddingsInputDim() - 6 * cfg.additionTimeEmbedDim();
            Rng rng = Rng.seeded(1);
            try (LoraTrainer trainer = new LoraTrainer(unet, NoiseSchedule.of(SchedulerConfig.sdxl()), config, nd)) {
                double loaded = Memory.rssMiB();
                Memory.resetPeak();
                double total = 0;
                double min = Double.MAX_VALUE;
                double max = 0;
                float loss = 0;
                for (int s = first; s <= steps; s++) {
                    long t0 = System.nanoTime();
                    loss = trainer.update(i -> {
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
                    }, 1e-4, s + 1, false).loss();
                    double sec = (System.nanoTime() - t0) / 1e9;
                    if (s > 0) {
                        total += sec;
                        min = Math.min(min, sec);
                        max = Math.max(max, sec);
                    }
                }
                return String.format(Locale.ROOT,
                        "lcd-step %s (%,d params) latent %dx%d batch %d rank %d gradient_checkpointing %s: %d timed steps%s"
                                + " mean %.2f s (min %.2f max %.2f), last loss %.6g, RSS after load %.0f MiB, step peak RSS %.0f MiB",
                        name, unet.parameterCount(), latent, latent, batch, rank, mode.name().toLowerCase(Locale.ROOT), steps,
                        warmup ? " after a warm-up" : " (no warm-up)",
                        total / steps, min, max, loss, loaded, Memory.peakRssMiB());
            }
        }
    }

    /** RSS growth (peak during the pass minus RSS before it) of the first no-grad forward, scoped per block or not. */
    public static String noGradForward(UNet2DConditionConfig cfg, String name, int latent, int batch, boolean perBlockScopes) {
        try (NDManager nd = NDManager.newBaseManager(); NoGrad ng = NoGrad.open()) {
            UNet2DConditionModel unet = build(nd, cfg);
            int ctx = cfg.crossAttentionDim()[0];
            int pooled = cfg.projectionClassEmbeddingsInputDim() - 6 * cfg.additionTimeEmbedDim();
            Rng rng = Rng.seeded(1);
            float[] ids = new float[6 * batch];
            UNet2DConditionModel.Inputs in = new UNet2DConditionModel.Inputs(
                    rng.randn(nd, new Shape(batch, cfg.inChannels(), latent, latent)), new double[] {500},
                    rng.randn(nd, new Shape(batch, 77, ctx)), rng.randn(nd, new Shape(batch, pooled)),
                    nd.create(ids, new Shape(batch, 6)));
            double before = Memory.rssMiB();
            Memory.resetPeak();
            long t0 = System.nanoTime();
            double sum;
            try (NDScope scope = new NDScope()) {
                NDArray out = perBlockScopes ? unet.forward(in) : unet.forwardUnscoped(in);
                sum = out.abs().sum().getFloat();
            }
            double sec = (System.nanoTime() - t0) / 1e9;
            return String.format(Locale.ROOT,
                    "no-grad forward %s (%,d params) latent %dx%d batch %d, %s: %.2f s, RSS before %.0f MiB, peak %.0f MiB,"
                            + " growth %.0f MiB (output |sum| %.6g)",
                    name, unet.parameterCount(), latent, latent, batch, perBlockScopes ? "per-block scopes" : "unscoped", sec,
                    before, Memory.peakRssMiB(), Memory.peakRssMiB() - before, sum);
        }
    }
}
