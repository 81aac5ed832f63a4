package io.lcmlora.train.pretrain;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import io.lcmlora.train.config.OptimConfig;
import io.lcmlora.train.loop.AdamW;
import io.lcmlora.train.loop.GradClip;
import io.lcmlora.train.loop.LrSchedule;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The optimisation of one stage: per step the loss and its backward pass run inside an {@link NDScope} (every
 * intermediate freed), then global-norm clipping, AdamW at the scheduled rate and the EMA update run outside it.
 * A step whose gradient norm is not finite is skipped (counted, the weights untouched).
 */
final class Optimization implements AutoCloseable {
    private final Map<String, NDArray> params;
    private final PretrainConfig.Training t;
    private final AdamW adam;
    private final LrSchedule schedule;
    private final Ema ema;
    private final Consumer<String> log;
    private final long t0 = System.nanoTime();
    private long step;
    private long skipped;
    private double lossSum;
    private int lossCount;
    private double lastMeanLoss = Double.NaN;

    Optimization(Map<String, NDArray> params, PretrainConfig.Training t, Consumer<String> log) {
        this.params = params;
        this.t = t;
        this.adam = new AdamW(params, 0.9, 0.999, 1e-8, t.weightDecay());
        this.schedule = new LrSchedule(t.learningRate(), OptimConfig.Schedule.COSINE, t.warmupSteps(), Math.max(1, t.steps()));
        this.ema = t.emaDecay() > 0 ? new Ema(params, t.emaDecay()) : null;
        this.log = log;
    }

    /** One optimizer step on the loss {@code lossFn} builds (a scalar); returns the loss. */
    double step(Supplier<NDArray> lossFn) {
        double loss;
        try (NDScope scope = new NDScope()) {
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray l = lossFn.get();
                gc.backward(l);
                loss = l.getFloat();
            }
        }
        double lr = schedule.lr(step);
        double norm = GradClip.clipGlobalNorm(params.values(), t.maxGradNorm());
        if (Double.isFinite(norm) && Double.isFinite(loss)) {
            adam.step(lr);
            if (ema != null) {
                ema.update();
            }
            lossSum += loss;
            lossCount++;
        } else {
            skipped++;
            params.values().forEach(p -> JniUtils.zeroGrad((PtNDArray) p));
        }
        step++;
        if (step % t.logEvery() == 0 || step == t.steps()) {
            lastMeanLoss = lossCount == 0 ? Double.NaN : lossSum / lossCount;
            double secs = (System.nanoTime() - t0) / 1e9;
            log.accept(String.format("  step %d/%d loss %.5f lr %.2e %.2f s/step elapsed %.0f s eta %.0f s%s", step,
                    t.steps(), lastMeanLoss, lr, secs / step, secs, secs / step * (t.steps() - step),
                    skipped > 0 ? " (" + skipped + " non-finite steps skipped)" : ""));
            lossSum = 0;
            lossCount = 0;
        }
        return loss;
    }

    /** The mean loss of the last logged interval. */
    double lastMeanLoss() {
        return lastMeanLoss;
    }

    long skipped() {
        return skipped;
    }

    double seconds() {
        return (System.nanoTime() - t0) / 1e9;
    }

    /** The weights to save: the EMA when enabled, else the trained parameters. */
    Map<String, NDArray> result() {
        return ema != null ? ema.weights() : params;
    }

    @Override
    public void close() {
        if (ema != null) {
            ema.close();
        }
        adam.close();
    }
}
