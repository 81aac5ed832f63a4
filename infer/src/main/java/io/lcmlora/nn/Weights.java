package io.lcmlora.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Weights looked up by their checkpoint path (candle's VarBuilder idea). A module asks for
 * {@code vb.pp("down_blocks").pp(0).get("weight", shape)}; the full key is the checkpoint key, the shape is
 * checked, and the key is marked used so that a loader can verify both directions (every file key used, every
 * parameter found). Modules register themselves under their path, which gives the model's own module names
 * (LoRA targeting and kohya stems are resolved through them).
 *
 * <p>A shape-only instance records the requested shapes without any tensor data, so the parameter count of a
 * full-size model is known without allocating it.
 */
public final class Weights {
    private static final class Root {
        final NDManager manager;
        final Map<String, NDArray> tensors;
        final boolean shapeOnly;
        final String source;
        final Map<String, long[]> requested = new LinkedHashMap<>();
        final Map<String, Object> modules = new LinkedHashMap<>();
        NDArray placeholder;

        Root(NDManager manager, Map<String, NDArray> tensors, boolean shapeOnly, String source) {
            this.manager = manager;
            this.tensors = tensors;
            this.shapeOnly = shapeOnly;
            this.source = source;
        }
    }

    private final Root root;
    private final String prefix;

    private Weights(Root root, String prefix) {
        this.root = root;
        this.prefix = prefix;
    }

    /** Weights backed by loaded tensors; {@code source} names the file(s) in error messages. */
    public static Weights of(NDManager manager, Map<String, NDArray> tensors, String source) {
        return new Weights(new Root(manager, tensors, false, source), "");
    }

    /** A recorder: {@link #get} returns a shared placeholder and only the shapes are kept. */
    public static Weights shapesOnly(NDManager manager) {
        return new Weights(new Root(manager, Map.of(), true, "<shapes>"), "");
    }

    /** A child prefix: {@code pp("attn1")} looks up {@code <prefix>attn1.*}. */
    public Weights pp(String segment) {
        return new Weights(root, prefix + segment + ".");
    }

    public Weights pp(int index) {
        return pp(Integer.toString(index));
    }

    /** This builder's path without the trailing dot ("" at the root). */
    public String path() {
        return prefix.isEmpty() ? "" : prefix.substring(0, prefix.length() - 1);
    }

    public String key(String name) {
        return prefix + name;
    }

    public NDManager manager() {
        return root.manager;
    }

    public boolean shapeOnly() {
        return root.shapeOnly;
    }

    public boolean contains(String name) {
        return root.shapeOnly || root.tensors.containsKey(prefix + name);
    }

    /** The tensor at {@code prefix + name}, checked to have {@code shape}. */
    public NDArray get(String name, long... shape) {
        String key = prefix + name;
        if (root.requested.containsKey(key)) {
            throw new IllegalStateException("parameter '" + key + "' requested twice by the model");
        }
        root.requested.put(key, shape.clone());
        if (root.shapeOnly) {
            if (root.placeholder == null) {
                root.placeholder = root.manager.zeros(new Shape());
            }
            return root.placeholder;
        }
        NDArray t = root.tensors.get(key);
        if (t == null) {
            throw new WeightsException(root.source + ": missing parameter '" + key + "' (model expects shape "
                    + Arrays.toString(shape) + ")");
        }
        long[] actual = t.getShape().getShape();
        if (!Arrays.equals(actual, shape)) {
            throw new WeightsException(root.source + ": parameter '" + key + "' has shape " + Arrays.toString(actual)
                    + " in the file, the model expects " + Arrays.toString(shape));
        }
        return t;
    }

    /** Registers a module under this builder's path. */
    public void register(Object module) {
        root.modules.put(path(), module);
    }

    /** Modules registered so far, by path, in construction order. */
    public Map<String, Object> modules() {
        return Collections.unmodifiableMap(root.modules);
    }

    /** The registered Linear/Conv2d layers by module path, in construction order (LoRA targets). */
    public Map<String, AdaptableLayer> adaptableLayers() {
        Map<String, AdaptableLayer> out = new LinkedHashMap<>();
        root.modules.forEach((path, m) -> {
            if (m instanceof AdaptableLayer a) {
                out.put(path, a);
            }
        });
        return Collections.unmodifiableMap(out);
    }

    /** Shapes of every parameter the model asked for, by key. */
    public Map<String, long[]> requested() {
        return Collections.unmodifiableMap(root.requested);
    }

    public long parameterCount() {
        long n = 0;
        for (long[] s : root.requested.values()) {
            long c = 1;
            for (long d : s) {
                c *= d;
            }
            n += c;
        }
        return n;
    }

    /** File keys the model never asked for (ignoring those accepted by {@code ignorable}). */
    public List<String> unused(Set<String> ignorable) {
        List<String> out = new ArrayList<>();
        for (String k : new TreeSet<>(root.tensors.keySet())) {
            if (!root.requested.containsKey(k) && !ignorable.contains(k)) {
                out.add(k);
            }
        }
        return out;
    }

    /** Fails, listing the keys, unless every file key was used by the model. */
    public void checkAllUsed(Set<String> ignorable) {
        List<String> unused = unused(ignorable);
        if (!unused.isEmpty()) {
            int show = Math.min(unused.size(), 20);
            throw new WeightsException(root.source + ": " + unused.size() + " tensor(s) in the file match no model parameter: "
                    + String.join(", ", unused.subList(0, show)) + (unused.size() > show ? ", ..." : ""));
        }
    }

    /** A loader error that names the file and key. */
    public static final class WeightsException extends RuntimeException {
        public WeightsException(String message) {
            super(message);
        }
    }
}
