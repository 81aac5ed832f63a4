package io.lcmlora.lora;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;

/** The human-readable summary of a LoRA file ({@code lcm lora inspect}). */
public final class LoraSummary {
    private LoraSummary() {}

    /** Longest metadata value shown in full. */
    static final int MAX_VALUE = 200;

    public static String describe(LoraFile f) {
        StringBuilder s = new StringBuilder();
        List<LoraFile.Module> ms = f.modules();
        s.append("file: ").append(f.path()).append('\n');
        s.append("format: ").append(f.format()).append(" - ").append(f.format().description()).append('\n');
        Map<LoraComponent, Long> perComponent = histogram(ms, LoraFile.Module::component);
        s.append("modules: ").append(ms.size()).append(" (").append(join(perComponent, c -> c.diffusersPrefix())).append(")\n");
        s.append("rank: ").append(join(new TreeMap<>(histogram(ms, LoraFile.Module::rank)), String::valueOf)).append('\n');
        Map<String, Long> alphas = new TreeMap<>(histogram(ms, m -> m.alpha() == null ? "none (alpha = rank)" : fmt(m.alpha())));
        s.append("alpha: ").append(join(alphas, a -> a)).append('\n');
        s.append("scale alpha/rank: ").append(join(new TreeMap<>(histogram(ms, m -> fmt(m.scale()))), a -> a)).append('\n');
        s.append("kinds: ").append(ms.stream().filter(LoraFile.Module::conv).count()).append(" conv, ")
                .append(ms.stream().filter(m -> !m.conv()).count()).append(" linear\n");
        s.append("adapter kinds: ").append(join(new java.util.EnumMap<>(histogram(ms, LoraFile.Module::kind)), AdapterKind::label))
                .append('\n');
        if (ms.stream().anyMatch(m -> m.doraAxis() != null)) {
            s.append("dora norm: ").append(join(new java.util.EnumMap<>(histogram(ms.stream().filter(m -> m.doraAxis() != null).toList(),
                    LoraFile.Module::doraAxis)), LoraSummary::normAxis)).append('\n');
        }
        long biases = ms.stream().filter(m -> m.biasKey() != null).count();
        if (biases > 0) {
            s.append("bias diffs: ").append(biases).append(" module(s)\n");
        }
        s.append(String.format("parameters: %,d%n", f.parameterCount()));
        s.append("targets:\n");
        for (LoraComponent c : perComponent.keySet()) {
            Map<String, Long> types = new LinkedHashMap<>();
            for (String t : LoraTargets.LCM_LORA) {
                types.put(t, 0L);
            }
            ms.stream().filter(m -> m.component() == c)
                    .forEach(m -> types.merge(LoraTargets.typeOf(m.module(), LoraTargets.LCM_LORA), 1L, Long::sum));
            types.values().removeIf(n -> n == 0);
            s.append("  ").append(c.diffusersPrefix()).append(": ").append(join(types, t -> t).replace(" x ", " ")).append('\n');
        }
        if (!f.skipped().isEmpty()) {
            s.append("skipped keys (not adapter tensors): ").append(f.skipped().size()).append(" (")
                    .append(String.join(", ", f.skippedCounts().entrySet().stream().map(e -> e.getValue() + " " + e.getKey()).toList()))
                    .append(")\n");
        }
        s.append("per module:\n");
        for (LoraFile.Module m : ms) {
            s.append("  ").append(m.component().diffusersPrefix()).append('.').append(m.module()).append(": ").append(moduleLine(m))
                    .append('\n');
        }
        if (!f.metadata().isEmpty()) {
            s.append("metadata:\n");
            new TreeMap<>(f.metadata()).forEach((k, v) -> s.append("  ").append(k).append(": ")
                    .append(v.length() > MAX_VALUE ? v.substring(0, MAX_VALUE) + "... (" + v.length() + " chars)" : v).append('\n'));
        }
        return s.toString();
    }

    /** One module: kind, rank, and what the kind adds (DoRA's norm axis, the Tucker core's kernel, a bias difference). */
    static String moduleLine(LoraFile.Module m) {
        StringBuilder s = new StringBuilder(m.kind().label());
        if (m.rank() > 0) {
            s.append(" rank ").append(m.rank());
        }
        switch (m.kind()) {
            case DORA -> s.append(", norm ").append(normAxis(m.doraAxis()));
            case LORA, LOCON_TUCKER, LOHA, LOKR, FULL_DIFF, BIAS_DIFF -> { }
        }
        long[] mid = m.factorShapes().get(LoraKeyMap.Role.MID); // LoCon Tucker, or DoRA on a Tucker core
        if (mid != null) {
            s.append(", core ").append(mid[2]).append('x').append(mid[3]);
        }
        if (m.biasKey() != null && m.kind() != AdapterKind.BIAS_DIFF) {
            s.append(" + bias diff");
        }
        return s.toString();
    }

    private static String normAxis(DoraAxis axis) {
        return switch (axis) {
            case INPUT -> "per input column (kohya dora_scale)";
            case OUTPUT -> "per output row (PEFT lora_magnitude_vector)";
        };
    }

    private static <K> Map<K, Long> histogram(List<LoraFile.Module> ms, Function<LoraFile.Module, K> key) {
        Map<K, Long> out = new LinkedHashMap<>();
        ms.forEach(m -> out.merge(key.apply(m), 1L, Long::sum));
        return out;
    }

    /** "a x 3, b x 5", or just "a (all)" when there is one value. */
    private static <K> String join(Map<K, Long> h, Function<K, String> name) {
        if (h.size() == 1) {
            Map.Entry<K, Long> e = h.entrySet().iterator().next();
            return name.apply(e.getKey()) + " x " + e.getValue();
        }
        StringBuilder s = new StringBuilder();
        h.forEach((k, n) -> s.append(s.length() == 0 ? "" : ", ").append(name.apply(k)).append(" x ").append(n));
        return s.toString();
    }

    private static String fmt(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? String.valueOf((long) v) : String.valueOf(v);
    }
}
