package io.lcmlora.io;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The one check that weights are finite, used wherever LoRA weights enter or leave the toolkit (training checkpoint
 * resume, export in every format, LoRA loading for inspect/generate): a NaN or infinite value is never written,
 * loaded or resumed silently; the error names the file, the count and the first tensors that hold them.
 */
public final class FiniteWeights {
    private FiniteWeights() {}

    /** NaN and infinite counts of one tensor's values. */
    public record Count(long nan, long inf) {
        public long total() {
            return nan + inf;
        }
    }

    public static Count count(float[] values) {
        long nan = 0;
        long inf = 0;
        for (float v : values) {
            if (Float.isNaN(v)) {
                nan++;
            } else if (Float.isInfinite(v)) {
                inf++;
            }
        }
        return new Count(nan, inf);
    }

    /**
     * Fails when any value of {@code tensors} (name to values) is NaN or infinite.
     *
     * @param source the file the values come from or go to, named in the message
     * @param fix what the user can do, appended to the message (may be empty)
     */
    public static void require(Path source, Map<String, float[]> tensors, String fix) throws NonFiniteWeightsException {
        Map<String, Count> bad = new LinkedHashMap<>();
        for (var e : tensors.entrySet()) {
            Count c = count(e.getValue());
            if (c.total() > 0) {
                bad.put(e.getKey(), c);
            }
        }
        fail(source, bad, tensors.size(), fix);
    }

    /** Fails when a floating tensor among {@code names} of {@code file} holds a NaN or infinite value. */
    public static void require(SafeTensorsFile file, Collection<String> names, String fix) throws IOException {
        Map<String, Count> bad = new LinkedHashMap<>();
        int floating = 0;
        for (String name : names) {
            if (!file.info(name).dtype().isFloating()) {
                continue;
            }
            floating++;
            Count c = count(file.floats(name));
            if (c.total() > 0) {
                bad.put(name, c);
            }
        }
        fail(file.path(), bad, floating, fix);
    }

    private static void fail(Path source, Map<String, Count> bad, int tensors, String fix) throws NonFiniteWeightsException {
        if (bad.isEmpty()) {
            return;
        }
        long nan = 0;
        long inf = 0;
        for (Count c : bad.values()) {
            nan += c.nan();
            inf += c.inf();
        }
        StringBuilder first = new StringBuilder();
        int shown = 0;
        for (var e : bad.entrySet()) {
            if (shown++ == 3) {
                first.append(", ...");
                break;
            }
            first.append(shown == 1 ? "" : ", ").append('\'').append(e.getKey()).append("' ").append(e.getValue().total());
        }
        throw new NonFiniteWeightsException(source, nan + inf, source + ": " + (nan + inf) + " non-finite values (" + nan
                + " NaN, " + inf + " infinite) in " + bad.size() + " of " + tensors + " tensors (" + first + ")"
                + (fix == null || fix.isEmpty() ? "" : "; " + fix));
    }
}
