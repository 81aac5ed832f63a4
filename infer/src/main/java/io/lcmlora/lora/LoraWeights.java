package io.lcmlora.lora;

import ai.djl.ndarray.NDArray;
import java.util.List;

/**
 * A LoRA normalised to (component, module path, A, B, alpha), whatever convention it was stored in.
 *
 * @param source the file (or adapter) it came from, for messages
 * @param skipped the file's non-adapter keys that were skipped, counted by first dotted segment
 */
public record LoraWeights(String source, LoraFormat format, List<Entry> entries, java.util.Map<String, Integer> skipped) {
    /**
     * One module: for {@link AdapterKind#LORA} its A [r, in(, kh, kw)], B [out, r(, 1, 1)] and alpha (null: alpha =
     * rank); for {@link AdapterKind#LOCON_TUCKER} also {@code mid} [r, r, kh, kw] (A [r, in, 1, 1]); for the dense
     * LyCORIS kinds the weight difference {@code dense} (alpha scaling already applied; A and B null). Any kind may
     * carry a bias difference {@code biasDiff} [out] ({@code diff_b}; a {@link AdapterKind#BIAS_DIFF} entry has nothing
     * else). {@code key} is the module's first key as written in the file (null for adapters built in code).
     */
    public record Entry(LoraComponent component, String module, NDArray a, NDArray b, Double alpha, AdapterKind kind,
            NDArray dense, NDArray magnitude, DoraAxis doraAxis, NDArray mid, NDArray biasDiff, String key) {
        public Entry(LoraComponent component, String module, NDArray a, NDArray b, Double alpha) {
            this(component, module, a, b, alpha, AdapterKind.LORA, null, null, null, null, null, null);
        }

        /** This entry with {@code key}, the module's first key as written in its file (for error messages). */
        public Entry withKey(String key) {
            return new Entry(component, module, a, b, alpha, kind, dense, magnitude, doraAxis, mid, biasDiff, key);
        }

        /** This entry with a bias difference [out] ({@code diff_b}). */
        public Entry withBiasDiff(NDArray biasDiff) {
            return new Entry(component, module, a, b, alpha, kind, dense, magnitude, doraAxis, mid, biasDiff, key);
        }

        /** A LyCORIS module's dense dW. */
        public static Entry dense(LoraComponent component, String module, AdapterKind kind, NDArray dense, Double alpha) {
            return new Entry(component, module, null, null, alpha, kind, dense, null, null, null, null, null);
        }

        /** A DoRA module: the LoRA pair and its float32 magnitude along {@code axis}. */
        public static Entry dora(LoraComponent component, String module, NDArray a, NDArray b, Double alpha,
                NDArray magnitude, DoraAxis axis) {
            return dora(component, module, a, b, alpha, magnitude, axis, null);
        }

        /** A DoRA module whose low-rank term may be a LoCon Tucker product ({@code mid} non-null). */
        public static Entry dora(LoraComponent component, String module, NDArray a, NDArray b, Double alpha,
                NDArray magnitude, DoraAxis axis, NDArray mid) {
            return new Entry(component, module, a, b, alpha, AdapterKind.DORA, null, magnitude, axis, mid, null, null);
        }

        /** A LoCon Tucker module: lora_down (A), lora_mid, lora_up (B). */
        public static Entry tucker(LoraComponent component, String module, NDArray down, NDArray mid, NDArray up, Double alpha) {
            return new Entry(component, module, down, up, alpha, AdapterKind.LOCON_TUCKER, null, null, null, mid, null, null);
        }

        /** A module with only a bias difference; add it with {@link #withBiasDiff}. */
        public static Entry biasOnly(LoraComponent component, String module) {
            return new Entry(component, module, null, null, null, AdapterKind.BIAS_DIFF, null, null, null, null, null, null);
        }

        public int rank() {
            return a == null ? 0 : Math.toIntExact(a.getShape().get(0));
        }

        /** alpha / rank (1 when no alpha is stored; LyCORIS: already in {@code dense}). */
        public double scale() {
            return alpha == null || a == null ? 1.0 : alpha / rank();
        }
    }

    public LoraWeights {
        entries = List.copyOf(entries);
        skipped = skipped == null ? java.util.Map.of() : java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(skipped));
    }

    /** Weights with nothing skipped. */
    public LoraWeights(String source, LoraFormat format, List<Entry> entries) {
        this(source, format, entries, null);
    }

    /** The entries of one component, in file order. */
    public List<Entry> of(LoraComponent c) {
        return entries.stream().filter(e -> e.component() == c).toList();
    }
}
