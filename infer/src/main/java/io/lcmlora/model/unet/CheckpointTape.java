package io.lcmlora.model.unet;

import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.function.Function;

/**
 * Activation checkpointing (what {@code torch.utils.checkpoint} does, built from DJL's public autograd calls).
 *
 * <p>Forward (run under no-grad): each segment (a unit at the chosen {@link GradientCheckpointing} granularity)
 * runs in its own {@link NDScope}, so only its outputs survive; each output becomes a leaf that requires a gradient,
 * and the segment (unit, inputs, outputs) is recorded. The caller builds its loss on the final output and
 * back-propagates it, which fills the final output's {@code .grad}.
 *
 * <p>{@link #backward()}: for the segments in reverse order, 1. read the accumulated upstream gradient g_j of each
 * output (every consumer of an output comes later in the forward, so it has already been replayed); 2. recompute the
 * segment with grad from its saved inputs (the very leaves, so their {@code .grad} accumulates across all the
 * segments that read them: the skip connections, emb); 3. back-propagate the vector-Jacobian product, the gradient
 * of sum_j sum(out_j * g_j), which adds the segment's share to every LoRA parameter's {@code .grad} and to its inputs';
 * 4. close the outputs (their gradients are spent). Nothing in the UNet draws random numbers (dropout is 0 and
 * LoRA dropout is rejected), so a recomputation reproduces the forward exactly; a unit that did draw would have to
 * replay its draws here.
 */
final class CheckpointTape extends BlockRunner {
    private record Segment(BlockKind kind, NDList inputs, Function<NDList, NDList> unit, NDList outputs) {}

    private final GradientCheckpointing granularity;
    private final List<Segment> segments = new ArrayList<>();
    private final Set<NDArray> produced = Collections.newSetFromMap(new IdentityHashMap<>());
    private final Set<NDArray> constants = Collections.newSetFromMap(new IdentityHashMap<>());
    private final Set<NDArray> retained = Collections.newSetFromMap(new IdentityHashMap<>());
    private List<NDArray> keepList;
    private int depth;
    private boolean replaying;

    CheckpointTape(GradientCheckpointing granularity) {
        this.granularity = granularity;
    }

    private boolean isSegment(BlockKind kind) {
        return switch (granularity) {
            case OFF -> false;
            case BLOCKS -> kind.isBlock();
            case TRANSFORMER -> !kind.isContainer();
        };
    }

    @Override
    NDList run(BlockKind kind, NDList inputs, Function<NDList, NDList> unit) {
        if (depth > 0 || !isSegment(kind)) {
            return unit.apply(inputs); // inside a segment, or a container whose parts are segments
        }
        for (int i = 0; i < inputs.size(); i++) {
            NDArray x = inputs.get(i);
            if (!produced.contains(x) && !constants.contains(x)) {
                throw new IllegalStateException(kind + " input " + i + " " + x.getShape()
                        + " was computed outside every checkpoint segment: its gradient would be lost");
            }
        }
        List<NDArray> keep = new ArrayList<>();
        keepList = keep;
        NDList out;
        depth++;
        try (NDScope scope = new NDScope()) {
            out = unit.apply(inputs);
            for (NDArray o : out) {
                NDScope.unregister(o);
            }
            for (NDArray k : keep) {
                NDScope.unregister(k);
            }
        } finally {
            depth--;
            keepList = null;
        }
        for (NDArray k : keep) {
            NDScope.register(k);
            retained.add(k);
        }
        for (NDArray o : out) {
            if (containsSame(inputs, o)) {
                throw new IllegalStateException(kind + " returned one of its inputs; a segment must compute new arrays");
            }
            NDScope.register(o);
            o.setRequiresGradient(true); // a leaf: consumers' gradients accumulate in its .grad
            produced.add(o);
        }
        segments.add(new Segment(kind, inputs, unit, out));
        return out;
    }

    @Override
    boolean replaying() {
        return replaying;
    }

    @Override
    void keep(NDArray x) {
        if (!replaying && keepList != null) {
            keepList.add(x);
        }
    }

    @Override
    void constant(NDArray x) {
        constants.add(x);
    }

    /** Marks an array the caller owns (the forward's result): backward leaves it open. */
    void retain(NDArray x) {
        retained.add(x);
    }

    /**
     * Completes the backward pass once the final output's gradient is in (steps 1-4 above). Runs with grad mode on
     * (inside the caller's GradientCollector) and with the model in the state of the forward (same adapters).
     */
    void backward() {
        if (!JniUtils.isGradMode()) {
            throw new IllegalStateException("checkpointed backward needs grad mode: call it inside the GradientCollector"
                    + " that back-propagated the loss");
        }
        replaying = true;
        depth = 1;
        try {
            for (int s = segments.size() - 1; s >= 0; s--) {
                Segment seg = segments.get(s);
                try (NDScope scope = new NDScope()) {
                    // 1. upstream gradients g_j (zeros for an output nothing read)
                    NDList grads = new NDList(seg.outputs().size());
                    for (NDArray o : seg.outputs()) {
                        grads.add(o.getGradient());
                    }
                    // 2. recompute with grad from the saved inputs
                    NDList re = seg.unit().apply(seg.inputs());
                    // 3. vector-Jacobian product
                    NDArray target;
                    NDArray seed;
                    if (re.size() == 1) {
                        target = re.get(0);
                        seed = grads.get(0);
                    } else {
                        target = re.get(0).mul(grads.get(0)).sum();
                        for (int j = 1; j < re.size(); j++) {
                            target = target.add(re.get(j).mul(grads.get(j)).sum());
                        }
                        seed = target.getManager().ones(new Shape(), target.getDataType());
                    }
                    try {
                        JniUtils.backward((PtNDArray) target, (PtNDArray) seed, false, false);
                    } catch (EngineException e) {
                        // an input-free segment (the prelude) without a trainable parameter has no graph: nothing to do
                        if (!seg.inputs().isEmpty() || e.getMessage() == null || !e.getMessage().contains("does not require grad")) {
                            throw e;
                        }
                    }
                }
                // 4. the outputs' gradients are spent
                for (NDArray o : seg.outputs()) {
                    if (!retained.contains(o)) {
                        o.close();
                    }
                }
            }
        } finally {
            replaying = false;
            depth = 0;
            segments.clear();
            produced.clear();
        }
    }
}
