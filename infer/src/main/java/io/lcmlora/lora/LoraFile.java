package io.lcmlora.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.io.TensorInfo;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The index of a safetensors LoRA file: every key resolved to (component, module) through a {@link LoraKeyMap},
 * with the tensor shapes and alpha values, but no tensor data ({@code lcm lora inspect} of a 400 MB file reads the
 * header and the alpha scalars only). {@link #load} brings the A/B tensors in as {@link LoraWeights}.
 *
 * <p>Rules: A is {@code [r, in]} or {@code [r, in, kh, kw]}, B is {@code [out, r]} or {@code [out, r, 1, 1]}, the rank
 * comes from A's shape, alpha from the module's {@code .alpha} scalar (none stored: alpha = r). Every key must name a
 * module of the model; the ones that do not are listed in one error.
 */
public record LoraFile(Path path, LoraFormat format, Map<String, String> metadata, List<Module> modules) {
    /** How many unmatched keys an error lists. */
    static final int SHOW_KEYS = 20;

    /** One adapted module: its keys, shapes and alpha ({@code null}: none stored). */
    public record Module(LoraComponent component, String module, String aKey, String bKey, String alphaKey,
            long[] aShape, long[] bShape, Double alpha) {
        public int rank() {
            return Math.toIntExact(aShape[0]);
        }

        public boolean conv() {
            return aShape.length == 4;
        }

        /** alpha / rank (1 when no alpha is stored). */
        public double scale() {
            return alpha == null ? 1.0 : alpha / rank();
        }

        public long parameterCount() {
            return numel(aShape) + numel(bShape);
        }
    }

    public LoraFile {
        metadata = Map.copyOf(metadata);
        modules = List.copyOf(modules);
    }

    /** Reads and checks the index of {@code path}; throws {@link LoraException} naming the file and keys on bad input. */
    public static LoraFile read(Path path, LoraKeyMap map) throws IOException {
        try (SafeTensorsFile f = SafeTensorsFile.open(path)) {
            return index(f, map);
        }
    }

    /** Reads the index and the tensors (floating data converted to {@code dtype}, null keeps the file's type). */
    public static LoraWeights load(Path path, LoraKeyMap map, NDManager manager, DataType dtype) throws IOException {
        try (SafeTensorsFile f = SafeTensorsFile.open(path)) {
            LoraFile index = index(f, map);
            io.lcmlora.io.FiniteWeights.require(f, f.tensors().keySet(), "this LoRA is broken (a diverged training run?)");
            List<LoraWeights.Entry> entries = new ArrayList<>();
            for (Module m : index.modules()) {
                NDArray a = f.load(m.aKey(), manager, dtype);
                NDArray b = f.load(m.bKey(), manager, dtype);
                entries.add(new LoraWeights.Entry(m.component(), m.module(), a, b, m.alpha()));
            }
            return new LoraWeights(path.toString(), index.format(), entries);
        }
    }

    /** The keys of one module, indexed by {@link LoraKeyMap.Role#ordinal()}. */
    private record Group(String[] keys) {
        Group() {
            this(new String[LoraKeyMap.Role.values().length]);
        }

        String a() {
            return keys[LoraKeyMap.Role.A.ordinal()];
        }

        String b() {
            return keys[LoraKeyMap.Role.B.ordinal()];
        }

        String alpha() {
            return keys[LoraKeyMap.Role.ALPHA.ordinal()];
        }
    }

    private static LoraFile index(SafeTensorsFile f, LoraKeyMap map) throws IOException {
        Path path = f.path();
        LoraFormat format = LoraFormat.detect(f.tensors().keySet(), path.toString());
        Map<String, Group> groups = new LinkedHashMap<>();
        Map<String, LoraKeyMap.Target> targets = new LinkedHashMap<>();
        List<String> unmatched = new ArrayList<>();
        for (String key : f.tensors().keySet()) {
            LoraKeyMap.Target t = map.resolve(key);
            if (t == null) {
                unmatched.add(key);
                continue;
            }
            String id = t.component().diffusersPrefix() + "." + t.module();
            targets.putIfAbsent(id, t);
            Group g = groups.computeIfAbsent(id, k -> new Group());
            String prev = g.keys()[t.role().ordinal()];
            g.keys()[t.role().ordinal()] = key;
            if (prev != null) {
                throw new LoraException(path + ": keys '" + prev + "' and '" + key + "' both give the " + t.role()
                        + " tensor of " + id);
            }
        }
        if (!unmatched.isEmpty()) {
            throw new LoraException(path + ": " + unmatched.size() + " of " + f.tensors().size() + " key(s) match no module of "
                    + "the model (" + format.description() + "): " + String.join(", ", unmatched.subList(0,
                    Math.min(SHOW_KEYS, unmatched.size()))) + (unmatched.size() > SHOW_KEYS ? ", ..." : "") + unsupportedHint(unmatched));
        }
        List<Module> modules = new ArrayList<>();
        for (Map.Entry<String, Group> e : groups.entrySet()) {
            Group g = e.getValue();
            LoraKeyMap.Target t = targets.get(e.getKey());
            if (g.a() == null || g.b() == null) {
                throw new LoraException(path + ": " + e.getKey() + " has " + (g.a() == null ? "no A (down)" : "no B (up)")
                        + " tensor; keys present: " + String.join(", ", present(g)));
            }
            long[] aShape = f.info(g.a()).shape();
            long[] bShape = f.info(g.b()).shape();
            checkShapes(path, e.getKey(), g, aShape, bShape);
            Double alpha = null;
            if (g.alpha() != null) {
                TensorInfo ai = f.info(g.alpha());
                if (ai.numel() != 1) {
                    throw new LoraException(path + ": '" + g.alpha() + "' has shape " + Arrays.toString(ai.shape())
                            + ", expected a scalar");
                }
                alpha = ai.dtype().isFloating() ? f.doubles(g.alpha())[0] : (double) f.longs(g.alpha())[0];
            }
            modules.add(new Module(t.component(), t.module(), g.a(), g.b(), g.alpha(), aShape, bShape, alpha));
        }
        return new LoraFile(path, format, f.metadata(), modules);
    }

    private static List<String> present(Group g) {
        return Arrays.stream(g.keys()).filter(k -> k != null).toList();
    }

    private static void checkShapes(Path path, String id, Group g, long[] a, long[] b) {
        boolean ok = (a.length == 2 && b.length == 2 || a.length == 4 && b.length == 4 && b[2] == 1 && b[3] == 1)
                && a[0] > 0 && b[1] == a[0];
        if (!ok) {
            throw new LoraException(path + ": " + id + ": A '" + g.a() + "' " + Arrays.toString(a) + " and B '" + g.b() + "' "
                    + Arrays.toString(b) + " are not a LoRA pair (expected A [r, in] / B [out, r], or A [r, in, kh, kw] / "
                    + "B [out, r, 1, 1])");
        }
    }

    private static String unsupportedHint(List<String> keys) {
        for (String k : keys) {
            if (k.contains("hada_") || k.contains("lokr_") || k.contains("lora_mid") || k.contains("dora_scale")
                    || k.contains("lora_magnitude_vector")) {
                return " (LoHa/LoKr/Tucker/DoRA tensors such as '" + k + "' are not supported: plain LoRA only)";
            }
        }
        return "";
    }

    public long parameterCount() {
        return modules.stream().mapToLong(Module::parameterCount).sum();
    }

    static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }
}
