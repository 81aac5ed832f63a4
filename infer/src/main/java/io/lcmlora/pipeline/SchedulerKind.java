package io.lcmlora.pipeline;

import java.util.Locale;

/** The samplers of {@code lcm generate}. */
public enum SchedulerKind {
    /** diffusers' LCMScheduler (what LCM-LoRA samples with: 2-8 steps, guidance 1-2). */
    LCM,
    /** diffusers' DDIMScheduler with eta 0 (the base model's baseline sampler; 25-50 steps, guidance 5-8). */
    DDIM;

    public static SchedulerKind parse(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "lcm" -> LCM;
            case "ddim" -> DDIM;
            default -> throw new IllegalArgumentException("scheduler '" + s + "': expected lcm or ddim");
        };
    }

    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
