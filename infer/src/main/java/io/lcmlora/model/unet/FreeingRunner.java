package io.lcmlora.model.unet;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDScope;
import io.lcmlora.nn.KeyValueMemo;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.function.Function;

/**
 * A no-grad forward that frees intermediates as it goes: every unit (block and layer) runs in its own nested
 * {@link NDScope} and only its outputs (and tapped arrays) survive it, handed to the enclosing scope. With no tap,
 * the forward also closes each block output once its last consumer has run. Nothing else changes: the outputs are
 * bit-identical to {@link BlockRunner#PLAIN}'s.
 */
final class FreeingRunner extends BlockRunner {
    private final boolean freesConsumed;
    private final KeyValueMemo memo;
    private final Deque<List<NDArray>> kept = new ArrayDeque<>();

    /**
     * @param freesConsumed close block outputs once consumed (only when no tap holds on to them)
     * @param memo the sampling loop's cross-attention keys and values, or null
     */
    FreeingRunner(boolean freesConsumed, KeyValueMemo memo) {
        this.freesConsumed = freesConsumed;
        this.memo = memo;
    }

    @Override
    KeyValueMemo keyValueMemo() {
        return memo;
    }

    @Override
    NDList run(BlockKind kind, NDList inputs, Function<NDList, NDList> unit) {
        List<NDArray> keep = new ArrayList<>();
        kept.push(keep);
        NDList out;
        try (NDScope scope = new NDScope()) {
            out = unit.apply(inputs);
            for (NDArray o : out) {
                NDScope.unregister(o);
            }
            for (NDArray k : keep) {
                NDScope.unregister(k);
            }
        } finally {
            kept.pop();
        }
        for (NDArray o : out) {
            if (!containsSame(inputs, o)) { // an input passed through belongs to its owner
                NDScope.register(o);
            }
        }
        for (NDArray k : keep) {
            NDScope.register(k);
            keep(k); // the enclosing unit must keep it too
        }
        return out;
    }

    @Override
    void keep(NDArray x) {
        if (!kept.isEmpty()) {
            kept.peek().add(x);
        }
    }

    @Override
    boolean freesConsumed() {
        return freesConsumed;
    }
}
