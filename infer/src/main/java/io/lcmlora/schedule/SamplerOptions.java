package io.lcmlora.schedule;

import io.lcmlora.schedule.SchedulerConfig.TimestepSpacing;
import java.util.Arrays;

/**
 * What a user chooses for a sampler; validated here so that every option changes behaviour or is an error.
 *
 * @param kind the scheduler
 * @param steps number of steps (with {@code timesteps}: their count)
 * @param timesteps custom timesteps, strictly decreasing (LCM, TCD), or null
 * @param spacing timestep spacing (DDIM, Euler); null = the model's scheduler config
 * @param eta DDIM's eta or TCD's gamma; null = the default (DDIM 0, TCD 0.3); LCM and Euler take none
 */
public record SamplerOptions(SchedulerKind kind, int steps, long[] timesteps, TimestepSpacing spacing, Double eta) {
    /** TCD's default gamma (diffusers' {@code TCDScheduler.step(eta=0.3)}). */
    public static final double TCD_DEFAULT_ETA = 0.3;

    /** A bad option: {@link #option()} is its name ({@code scheduler}, {@code steps}, {@code timesteps}, {@code spacing}, {@code eta}). */
    public static final class InvalidOption extends IllegalArgumentException {
        private final String option;

        InvalidOption(String option, String message) {
            super(message);
            this.option = option;
        }

        public String option() {
            return option;
        }
    }

    public SamplerOptions {
        if (kind == null) {
            throw new InvalidOption("scheduler", "a scheduler is required: one of lcm, ddim, euler, tcd");
        }
        if (timesteps != null) {
            timesteps = timesteps.clone();
            if (timesteps.length == 0) {
                throw new InvalidOption("timesteps", "custom timesteps are empty");
            }
            steps = timesteps.length;
        }
        if (steps < 1) {
            throw new InvalidOption("steps", "steps must be at least 1, got " + steps);
        }
        switch (kind) {
            case LCM, TCD -> {
                if (spacing != null) {
                    throw new InvalidOption("spacing", "spacing is a DDIM/Euler option: " + kind.cliName()
                            + " takes its timesteps from original_inference_steps (or --timesteps)");
                }
            }
            case DDIM, EULER -> {
                if (timesteps != null) {
                    throw new InvalidOption("timesteps", "custom timesteps need scheduler lcm or tcd (" + kind.cliName()
                            + " takes its timesteps from steps and spacing): " + Arrays.toString(timesteps));
                }
            }
        }
        switch (kind) {
            case LCM, EULER -> {
                if (eta != null) {
                    throw new InvalidOption("eta", "eta is a DDIM/TCD option; " + kind.cliName() + " has none");
                }
            }
            case DDIM -> {
                if (eta != null && !(eta >= 0 && eta <= 1)) {
                    throw new InvalidOption("eta", "DDIM eta must be in [0, 1], got " + eta);
                }
            }
            case TCD -> {
                if (eta != null && !(eta >= 0 && eta <= 1)) {
                    throw new InvalidOption("eta", "TCD eta (gamma) must be in [0, 1], got " + eta);
                }
            }
        }
    }

    public static SamplerOptions of(SchedulerKind kind, int steps) {
        return new SamplerOptions(kind, steps, null, null, null);
    }

    /** The eta in effect (the default when none was given). */
    public double etaOrDefault() {
        return switch (kind) {
            case TCD -> eta != null ? eta : TCD_DEFAULT_ETA;
            case DDIM -> eta != null ? eta : 0.0;
            case LCM, EULER -> 0.0;
        };
    }

    public SamplerOptions withSteps(int n) {
        return new SamplerOptions(kind, n, null, spacing, eta);
    }

    public SamplerOptions withTimesteps(long[] t) {
        return new SamplerOptions(kind, t == null ? steps : t.length, t, spacing, eta);
    }

    @Override
    public long[] timesteps() {
        return timesteps == null ? null : timesteps.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SamplerOptions s && s.kind == kind && s.steps == steps && Arrays.equals(s.timesteps, timesteps)
                && s.spacing == spacing && java.util.Objects.equals(s.eta, eta);
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(kind, steps, Arrays.hashCode(timesteps), spacing, eta);
    }

    @Override
    public String toString() {
        return kind.cliName() + " " + steps + " steps" + (timesteps != null ? " " + Arrays.toString(timesteps) : "")
                + (spacing != null ? " " + spacing.name().toLowerCase(java.util.Locale.ROOT) : "") + (eta != null ? " eta " + eta : "");
    }

    /** Parses {@code leading|trailing|linspace}. */
    public static TimestepSpacing parseSpacing(String s) {
        if (s == null) {
            return null;
        }
        for (TimestepSpacing t : TimestepSpacing.values()) {
            if (t.name().equalsIgnoreCase(s)) {
                return t;
            }
        }
        throw new InvalidOption("spacing", "spacing '" + s + "': expected leading, trailing or linspace");
    }
}
