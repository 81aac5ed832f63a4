package io.lcmlora.train.data;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Counts examples that were skipped (unreadable image, missing caption, unsafe tar member, ...) by reason, keeping
 * the first few ids of each for the report. Thread-safe. Skipping is never an error: training goes on.
 */
public final class SkipCounter {
    static final int EXAMPLES = 3;
    private final Map<String, Integer> counts = new TreeMap<>();
    private final Map<String, List<String>> examples = new TreeMap<>();
    private final Map<String, Integer> kept = new TreeMap<>();
    private final Map<String, List<String>> keptExamples = new TreeMap<>();

    public synchronized void skip(String reason, String id) {
        counts.merge(reason, 1, Integer::sum);
        List<String> ex = examples.computeIfAbsent(reason, r -> new ArrayList<>());
        if (ex.size() < EXAMPLES) {
            ex.add(id);
        }
    }

    /** Counts an example that is used despite a problem (e.g. an empty caption trained on as the empty prompt). */
    public synchronized void keep(String reason, String id) {
        kept.merge(reason, 1, Integer::sum);
        List<String> ex = keptExamples.computeIfAbsent(reason, r -> new ArrayList<>());
        if (ex.size() < EXAMPLES) {
            ex.add(id);
        }
    }

    /** The {@link #keep} counts by reason. */
    public synchronized Map<String, Integer> kept() {
        return Map.copyOf(kept);
    }

    public synchronized int total() {
        return counts.values().stream().mapToInt(Integer::intValue).sum();
    }

    public synchronized int count(String reason) {
        return counts.getOrDefault(reason, 0);
    }

    public synchronized Map<String, Integer> counts() {
        return Map.copyOf(counts);
    }

    /**
     * e.g. {@code skipped 3: unreadable image 2 (a.png, b.jpg), no caption 1 (c.png)}; "skipped 0" when none; then
     * {@code ; used: empty caption 1 (d.png)} when examples were kept with a problem.
     */
    public synchronized String report() {
        StringBuilder sb = new StringBuilder("skipped " + total());
        append(sb, ": ", counts, examples);
        if (!kept.isEmpty()) {
            append(sb, "; used: ", kept, keptExamples);
        }
        return sb.toString();
    }

    private static void append(StringBuilder sb, String first, Map<String, Integer> counts, Map<String, List<String>> examples) {
        String sep = first;
        for (var e : counts.entrySet()) {
            sb.append(sep).append(e.getKey()).append(' ').append(e.getValue())
                    .append(" (").append(String.join(", ", examples.get(e.getKey())))
                    .append(e.getValue() > EXAMPLES ? ", ..." : "").append(')');
            sep = ", ";
        }
    }
}
