package io.lcmlora.train.distill;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.GradientCollector;
import io.lcmlora.engine.Precision;
import io.lcmlora.lora.Adapters;
import io.lcmlora.lora.LoraComponent;
import io.lcmlora.model.unet.UNet2DConditionModel;
import io.lcmlora.nn.Ops;
import io.lcmlora.schedule.NoiseSchedule;
import io.lcmlora.train.config.DistillConfig;
import io.lcmlora.train.config.TrainConfig;
import io.lcmlora.train.loop.AdamW;
import io.lcmlora.train.loop.GradClip;
import io.lcmlora.train.loop.LossScaler;
import io.lcmlora.train.loop.Rng;
import io.lcmlora.train.parallel.World;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * One optimizer update of LCM-LoRA distillation on a frozen UNet: {@code gradient_accumulation_steps} micro-batches
 * of {@link LcdStep} (each loss divided by the accumulation count, as accelerate does), gradient clipping by global
 * norm, AdamW on the fp32 LoRA masters. A step runs in one {@link NDScope}, each micro-batch in a nested one (memory
 * flat in the accumulation count) and each UNet pass in a scope of its own that keeps only its prediction.
 *
 * <p>With fp16 frozen weights the LoRA computes in fp16 copies and the loss is multiplied by a dynamic
 * {@link LossScaler} (initial {@code precision.loss_scale}) before backward; the fp32 gradients are unscaled before
 * clipping, and an update whose gradients overflow is skipped (nothing applied, the scale halved). bf16 copies need
 * no scaling. Without a scaler (fp32, bf16) a non-finite gradient norm stops the run like a non-finite loss.
 */
public final class LoraTrainer implements AutoCloseable {
    /** The inputs of one micro-batch. */
    public record Micro(LcdStep.Batch batch, LcdStep.Draws draws) {}

    /**
     * What an update did: the mean micro-batch loss, the gradient norm before clipping, and whether it was skipped
     * (an fp16 overflow: nothing applied, the loss scale halved).
     */
    public record Update(float loss, double gradNorm, boolean skipped) {}

    private final TrainableLora lora;
    private final LcdStep lcd;
    private final AdamW optimizer;
    private final int accumulation;
    private final double maxGradNorm;
    private final LossScaler scaler;
    private final World world;

    public LoraTrainer(UNet2DConditionModel unet, NoiseSchedule schedule, TrainConfig config, NDManager manager) {
        this(unet, schedule, config, manager, World.single());
    }

    /** A trainer whose gradients and logged loss are averaged over the ranks of {@code world} every update. */
    public LoraTrainer(UNet2DConditionModel unet, NoiseSchedule schedule, TrainConfig config, NDManager manager,
            World world) {
        this.world = world;
        DataType computeType = unet.dtype();
        this.lora = TrainableLora.create(unet.layers(), config.lora(), Rng.stream(config.seed(), "lora-init"), manager,
                computeType);
        Adapters adapters = new Adapters(LoraComponent.UNET, unet.layers());
        adapters.add(TrainableLora.ADAPTER, lora.modules(), 1.0);
        DistillConfig d = config.distill();
        this.lcd = new LcdStep(unet, adapters, schedule, LcdStep.Config.of(d));
        this.optimizer = AdamW.of(lora.masters(), config.optim());
        this.accumulation = d.gradientAccumulationSteps();
        this.maxGradNorm = config.optim().maxGradNorm();
        this.scaler = Precision.of(computeType).needsLossScaling() ? LossScaler.dynamic(config.precision().lossScale())
                : LossScaler.none();
    }

    public TrainableLora lora() {
        return lora;
    }

    public AdamW optimizer() {
        return optimizer;
    }

    public LossScaler scaler() {
        return scaler;
    }

    public LcdStep step() {
        return lcd;
    }

    /**
     * Runs one update at learning rate {@code lr}. {@code micro} builds micro-batch i (called inside that
     * micro-batch's scope: what it creates is closed after the micro-batch's backward). {@code step} (1-based) names the update in messages; {@code poison} replaces the first micro-batch's
     * loss by NaN (tests of the non-finite stop).
     *
     * @throws NonFiniteLossException when a loss is NaN/infinite (nothing is applied)
     */
    public Update update(IntFunction<Micro> micro, double lr, long step, boolean poison) {
        lora.syncCompute();
        try (NDScope scope = new NDScope()) {
            double sum = 0;
            int badMicro = 0; // 1-based micro-batch whose loss was not finite on this rank, 0: none
            float badLoss = 0;
            for (int i = 0; i < accumulation && badMicro == 0; i++) {
                // one scope per micro-batch: its inputs, graph handles and loss are freed before the next one, so
                // memory is flat in the accumulation count (the gradients accumulate on the LoRA arrays, outside)
                try (NDScope microScope = new NDScope();
                        GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    Micro m = micro.apply(i);
                    LcdStep.Result r = lcd.run(m.batch(), m.draws(), false);
                    NDArray loss = r.loss();
                    if (poison && i == 0) {
                        loss = Ops.mulScalar(loss, Double.NaN);
                    }
                    float value = loss.getFloat();
                    if (!Float.isFinite(value)) {
                        badMicro = i + 1; // no backward; the other ranks learn of it in the all-reduce below
                        badLoss = value;
                        continue;
                    }
                    sum += value;
                    double factor = scaler.scale() / accumulation;
                    r.backward(gc, factor == 1.0 ? loss : Ops.mulScalar(loss, factor));
                }
            }
            double scale = scaler.scale();
            // 1. mean gradients over ranks, with this rank's "loss not finite" flag in the same all-reduce: every
            //    rank sees the same count and stops at the same step (a rank stopping alone would leave the others
            //    waiting in the next all-reduce, or stepping replicas that no longer agree)
            World.Reduced reduced = world.averageGradients(lora.masterGradients(scale), badMicro > 0);
            if (reduced.flagged() > 0) {
                lora.zeroGradients();
                throw new NonFiniteLossException(step, nonFiniteLoss(step, badMicro, badLoss));
            }
            Map<String, NDArray> grads = reduced.gradients();
            // 2. the norm of the mean gradients, the same on every rank: a non-finite one (a rank's overflow or
            //    NaN reaches every rank's sum) is skipped or stops the run on all ranks alike
            double norm = GradClip.clipGradients(grads.values(), maxGradNorm);
            float mean = (float) world.average(sum / accumulation);
            boolean skip;
            try {
                skip = scaler.skip(Double.isFinite(norm));
            } catch (IllegalStateException e) {
                lora.zeroGradients();
                throw new NonFiniteLossException(step, "gradient norm is " + norm + " at step " + step + " (loss " + mean
                        + "); nothing of this step was applied" + (scaler.isDynamic() ? " (" + e.getMessage() + ")" : ""));
            }
            if (!skip) {
                optimizer.step(lr, grads);
            }
            lora.zeroGradients();
            return new Update(mean, norm, skip);
        }
    }

    /**
     * The message every rank gives for a non-finite loss: which ranks, micro-batches and values (gathered, so each
     * rank names all of them).
     */
    private String nonFiniteLoss(long step, int badMicro, float badLoss) {
        long[] micros = world.gather(badMicro);
        long[] values = world.gather(Float.floatToRawIntBits(badLoss));
        List<String> where = new ArrayList<>();
        String first = null;
        for (int r = 0; r < micros.length; r++) {
            if (micros[r] == 0) {
                continue;
            }
            String value = Float.toString(Float.intBitsToFloat((int) values[r]));
            String at = (world.size() > 1 ? "rank " + r + " of " + world.size() + ", " : "") + "micro-batch " + micros[r]
                    + " of " + accumulation;
            where.add(first == null ? at : at + ": " + value);
            first = first == null ? value : first;
        }
        return "loss is " + first + " at step " + step + " (" + String.join("; ", where) + "); nothing of this step was applied"
                + (world.size() > 1 ? " on any rank" : "");
    }

    @Override
    public void close() {
        optimizer.close();
        lora.close();
    }
}
