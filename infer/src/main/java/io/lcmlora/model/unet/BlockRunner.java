package io.lcmlora.model.unet;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import io.lcmlora.nn.KeyValueMemo;
import java.util.function.Function;

/**
 * The one seam every unit of a UNet forward runs through (each block of the UNet and each layer inside a block,
 * see {@link BlockKind}). A unit is a pure function of its listed inputs and the model's weights: whatever it reads
 * that a previous unit computed must be in {@code inputs}, so a runner can free its intermediates, or run it
 * without a graph and recompute it for the backward pass ({@link CheckpointTape}).
 */
abstract class BlockRunner {
    /** Runs every unit as is (the graph is recorded when grad mode is on). */
    static final BlockRunner PLAIN = new BlockRunner() {
        @Override
        NDList run(BlockKind kind, NDList inputs, Function<NDList, NDList> unit) {
            return unit.apply(inputs);
        }
    };

    /** Runs {@code unit} on {@code inputs} and returns its outputs. */
    abstract NDList run(BlockKind kind, NDList inputs, Function<NDList, NDList> unit);

    /** A unit with one output. */
    final NDArray one(BlockKind kind, Function<NDList, NDArray> unit, NDArray... inputs) {
        return run(kind, new NDList(inputs), in -> new NDList(unit.apply(in))).singletonOrThrow();
    }

    /** Whether {@code list} holds this very array (identity, not content). */
    static boolean containsSame(NDList list, NDArray x) {
        for (NDArray a : list) {
            if (a == x) {
                return true;
            }
        }
        return false;
    }

    /** True while a unit is recomputed for the backward pass: side effects such as taps must stay silent. */
    boolean replaying() {
        return false;
    }

    /** Keeps {@code x}, created inside the running unit, alive after it (an intermediate handed to a tap). */
    void keep(NDArray x) {}

    /** Declares an array every unit may read that never needs a gradient (the text context). */
    void constant(NDArray x) {}

    /** The cross-attention key/value memo of a sampling loop's forwards, or null (always null with gradients). */
    KeyValueMemo keyValueMemo() {
        return null;
    }

    /** Whether the forward may close a block output as soon as its last consumer has run. */
    boolean freesConsumed() {
        return false;
    }
}
