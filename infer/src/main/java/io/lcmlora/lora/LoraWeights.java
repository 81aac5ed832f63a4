package io.lcmlora.lora;

import ai.djl.ndarray.NDArray;
import java.util.List;

/**
 * A LoRA normalised to (component, module path, A, B, alpha), whatever convention it was stored in.
 *
 * @param source the file (or adapter) it came from, for messages
 */
public record LoraWeights(String source, LoraFormat format, List<Entry> entries) {
    /** One module's A [r, in(, kh, kw)], B [out, r(, 1, 1)] and alpha (null: alpha = rank). */
    public record Entry(LoraComponent component, String module, NDArray a, NDArray b, Double alpha) {
        public int rank() {
            return Math.toIntExact(a.getShape().get(0));
        }

        /** alpha / rank (1 when no alpha is stored). */
        public double scale() {
            return alpha == null ? 1.0 : alpha / rank();
        }
    }

    public LoraWeights {
        entries = List.copyOf(entries);
    }

    /** The entries of one component, in file order. */
    public List<Entry> of(LoraComponent c) {
        return entries.stream().filter(e -> e.component() == c).toList();
    }
}
