package io.lcmlora.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * The cross-attention keys and values of one text context, computed once and reused by every forward of a sampling
 * loop: over a loop's steps the context, the weights and the adapters stay the same, so each cross-attention's
 * {@code to_k(context)} and {@code to_v(context)} are the same at every step (diffusers recomputes them per step).
 * Every step reuses the very tensors computed once (when the UNet opens the memo, or at first use), so a memoized loop
 * gives the same bits as one without.
 *
 * <p>For forwards without gradients only: the UNet bypasses the memo while autograd records (training changes the
 * adapters between passes). Open one per loop, around its steps ({@code UNet2DConditionModel.memoizeContext}), and
 * close it after: its arrays live outside the steps' scopes until then. An entry is dropped and recomputed when its
 * layers' weights or adapters were replaced, added, removed or switched since ({@link AdaptableLayer#generation()});
 * an adapter's own parameters changed in place are not seen, which is why the memo lives for one loop only.
 */
public final class KeyValueMemo implements AutoCloseable {
    private record Entry(long keyGeneration, long valueGeneration, NDArray keys, NDArray values) {}

    private final NDArray source;
    private final NDArray context;
    private final Map<AdaptableLayer, Entry> entries = new IdentityHashMap<>();
    private boolean closed;

    /**
     * A memo for {@code source}, the caller's context array (by identity: forwards must pass this very array), as the
     * layers see it: {@code context}, the same array or its cast to the model's dtype (then owned by the memo).
     */
    public KeyValueMemo(NDArray source, NDArray context) {
        this.source = source;
        this.context = context;
        if (context != source) {
            NDScope.unregister(context); // the cast is the memo's, closed with it
        }
    }

    /** The caller's context array the memo was opened for. */
    public NDArray source() {
        return source;
    }

    /** The context as the layers see it (what {@code Attention} compares by identity). */
    public NDArray context() {
        return context;
    }

    /**
     * {@code {toK(context), toV(context)}} for the memo's context: the memoized pair when neither layer changed since it
     * was computed ({@link AdaptableLayer#generation()}), otherwise computed now and kept. The pair stays owned by the
     * memo: callers must not close it.
     */
    public NDArray[] keysValues(AdaptableLayer toK, AdaptableLayer toV) {
        if (closed) {
            throw new IllegalStateException("key/value memo used after close (open one per sampling loop)");
        }
        Entry e = entries.get(toK);
        if (e == null || e.keyGeneration() != toK.generation() || e.valueGeneration() != toV.generation()) {
            if (e != null) {
                e.keys().close();
                e.values().close();
            }
            NDArray k = toK.forward(context); // [B, S, H*D]
            NDArray v = toV.forward(context);
            NDScope.unregister(k); // kept beyond the step's (and the block's) scope until close()
            NDScope.unregister(v);
            e = new Entry(toK.generation(), toV.generation(), k, v);
            entries.put(toK, e);
        }
        return new NDArray[] {e.keys(), e.values()};
    }

    /** How many layers' keys and values are held. */
    public int size() {
        return entries.size();
    }

    @Override
    public void close() {
        for (Entry e : entries.values()) {
            e.keys().close();
            e.values().close();
        }
        entries.clear();
        if (context != source) {
            context.close();
        }
        closed = true;
    }
}
