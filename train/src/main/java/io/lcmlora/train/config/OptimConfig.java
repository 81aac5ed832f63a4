package io.lcmlora.train.config;

/**
 * AdamW (torch.optim.AdamW semantics) and its learning-rate schedule. Defaults: the LCM-LoRA SDXL README command
 * ({@code --learning_rate 1e-4 --adam_weight_decay 0.0}), the script's betas/eps/{@code --max_grad_norm 1.0} and
 * {@code --lr_scheduler constant} (diffusers' {@code constant} ignores warm-up, so the recipe's effective warm-up is 0).
 */
public record OptimConfig(
        double learningRate,
        double beta1,
        double beta2,
        double eps,
        double weightDecay,
        Schedule lrScheduler,
        int lrWarmupSteps,
        double maxGradNorm) {

    /** After {@code lr_warmup_steps} of linear warm-up from 0: constant, or a half-cosine down to 0 at max_train_steps. */
    public enum Schedule {
        CONSTANT,
        COSINE
    }

    public OptimConfig {
        Check.openClosed("learning_rate", learningRate, 0, 1);
        Check.closedOpen("beta1", beta1, 0, 1);
        Check.closedOpen("beta2", beta2, 0, 1);
        Check.openClosed("eps", eps, 0, 1);
        Check.closed("weight_decay", weightDecay, 0, 1);
        if (lrScheduler == null) {
            throw new ConfigException("lr_scheduler", "must be one of " + ConfigBinder.enumValues(Schedule.class));
        }
        Check.range("lr_warmup_steps", lrWarmupSteps, 0, 1_000_000_000);
        Check.openClosed("max_grad_norm", maxGradNorm, 0, 1e9);
    }

    public static OptimConfig defaults() {
        return new OptimConfig(1e-4, 0.9, 0.999, 1e-8, 0.0, Schedule.CONSTANT, 0, 1.0);
    }
}
