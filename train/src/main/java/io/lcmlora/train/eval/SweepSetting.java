package io.lcmlora.train.eval;

import io.lcmlora.schedule.SamplerOptions;
import io.lcmlora.schedule.SchedulerKind;
import io.lcmlora.train.config.EvalConfig;
import java.util.ArrayList;
import java.util.List;

/**
 * One sampler setting of a sweep, with its lists expanded: the images of {@code name} go to
 * {@code <output_dir>/<name>/}; {@code family} groups settings that differ only in steps (one plot line).
 */
public record SweepSetting(String name, String family, EvalConfig.ModelSpec model, SchedulerKind scheduler,
        int steps, double guidance, List<EvalConfig.AdapterSpec> adapters, List<Long> timesteps, SamplerOptions sampler) {
    public SweepSetting {
        adapters = List.copyOf(adapters);
        timesteps = timesteps == null ? null : List.copyOf(timesteps);
    }

    /** Every setting of a (runnable) config with its steps and guidance lists expanded, in config order. */
    public static List<SweepSetting> expand(EvalConfig config) {
        List<SweepSetting> out = new ArrayList<>();
        for (EvalConfig.SettingSpec s : config.settings()) {
            List<EvalConfig.AdapterSpec> used = s.adapters().stream().map(config::adapter).toList();
            for (double g : s.guidance()) {
                for (int steps : s.steps()) {
                    out.add(new SweepSetting(s.expandedName(steps, g), s.family(g), config.model(s), s.scheduler(), steps,
                            g, used, s.timesteps(), s.sampler(steps)));
                }
            }
        }
        return out;
    }

    /** The scheduler's YAML name. */
    public String schedulerName() {
        return EvalConfig.schedulerName(scheduler);
    }

    /** The scheduler plus the adapters with their weights, e.g. {@code lcm + lcm-lora@1}. */
    public String describe() {
        StringBuilder sb = new StringBuilder(schedulerName());
        if (sampler.spacing() != null) {
            sb.append(' ').append(sampler.spacing().name().toLowerCase(java.util.Locale.ROOT));
        }
        if (sampler.eta() != null) {
            sb.append(" eta ").append(EvalConfig.number(sampler.eta()));
        }
        for (EvalConfig.AdapterSpec a : adapters) {
            sb.append(" + ").append(a.name()).append('@').append(EvalConfig.number(a.weight()));
        }
        return sb.toString();
    }
}
