package io.lcmlora.train.eval;

import java.util.List;
import java.util.Locale;

/**
 * One sampler setting of a sweep, with its lists expanded: the images of {@code name} go to
 * {@code <output_dir>/<name>/}; {@code family} groups settings that differ only in steps (one plot line).
 */
public record SweepSetting(String name, String family, EvalConfig.ModelSpec model, String scheduler, int steps,
        double guidance, List<EvalConfig.AdapterSpec> adapters, List<Long> timesteps) {
    public SweepSetting {
        adapters = List.copyOf(adapters);
        timesteps = timesteps == null ? null : List.copyOf(timesteps);
    }

    /** "lcm" / "ddim" plus the adapters with their weights, e.g. {@code lcm + lcm-lora@1}. */
    public String describe() {
        StringBuilder sb = new StringBuilder(scheduler);
        for (EvalConfig.AdapterSpec a : adapters) {
            sb.append(" + ").append(a.name()).append('@').append(number(a.weight()));
        }
        return sb.toString();
    }

    /** A double without a trailing ".0" (1.0 -> "1", 7.5 -> "7.5"). */
    static String number(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            return Long.toString((long) v);
        }
        return String.format(Locale.ROOT, "%s", v);
    }
}
