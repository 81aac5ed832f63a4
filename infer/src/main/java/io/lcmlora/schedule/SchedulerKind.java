package io.lcmlora.schedule;

import java.util.Locale;

/**
 * The samplers of the toolkit: the one scheduler enum of the project ({@code generate}, {@code eval} settings,
 * distillation validation, {@code forward sampler}). {@link Samplers#create} is the only switch over it.
 */
public enum SchedulerKind {
    /** diffusers' LCMScheduler (what LCM-LoRA samples with: 2-8 steps, guidance 1-2). */
    LCM,
    /** diffusers' DDIMScheduler (the base model's baseline sampler; 25-50 steps, guidance 5-8; trailing: Hyper-SD, PCM). */
    DDIM,
    /** diffusers' EulerDiscreteScheduler (SDXL-Lightning: trailing spacing, guidance 1). */
    EULER,
    /** diffusers' TCDScheduler (TCD-LoRA, Hyper-SD 1-step: gamma = eta). */
    TCD;

    public static SchedulerKind parse(String s) {
        for (SchedulerKind k : values()) {
            if (k.cliName().equals(s.toLowerCase(Locale.ROOT))) {
                return k;
            }
        }
        throw new IllegalArgumentException("scheduler '" + s + "': expected one of lcm, ddim, euler, tcd");
    }

    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
