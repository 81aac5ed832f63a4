package io.lcmlora.train.loop;

import io.lcmlora.train.config.DistillConfig;
import io.lcmlora.train.config.OptimConfig;

/**
 * Learning rate per optimizer update, the formulas of diffusers {@code optimization.py}
 * ({@code get_constant_schedule_with_warmup}, {@code get_cosine_schedule_with_warmup} with num_cycles 0.5) as a
 * torch {@code LambdaLR} applies them: update k (0-based) uses {@code base * factor(k)}, so with warm-up the first
 * update has rate 0. {@code CONSTANT} with {@code warmup = 0} is diffusers' {@code constant} (which ignores warm-up).
 */
public record LrSchedule(double base, OptimConfig.Schedule kind, int warmupSteps, int totalSteps) {
    public LrSchedule {
        if (!(base > 0) || warmupSteps < 0 || totalSteps < 1 || kind == null) {
            throw new IllegalArgumentException("bad schedule: base " + base + ", " + kind + ", warmup " + warmupSteps
                    + ", total " + totalSteps);
        }
    }

    public static LrSchedule of(OptimConfig optim, DistillConfig distill) {
        return new LrSchedule(optim.learningRate(), optim.lrScheduler(), optim.lrWarmupSteps(), distill.maxTrainSteps());
    }

    /** The multiplier of update {@code step} (0-based). */
    public double factor(long step) {
        if (step < warmupSteps) {
            return (double) step / Math.max(1, warmupSteps);
        }
        return switch (kind) {
            case CONSTANT -> 1.0;
            case COSINE -> {
                double progress = (double) (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
                yield Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * 0.5 * 2.0 * progress)));
            }
        };
    }

    /** The learning rate of update {@code step} (0-based). */
    public double lr(long step) {
        return base * factor(step);
    }
}
