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
 * comes from A's shape, alpha from the module's {@code .alpha} scalar (none stored: alpha = r). The LyCORIS kinds of
 * {@link AdapterKind} (kohya names) are read too. Every key must name a module of the model; the ones that do not are
 * listed in one error. Bad values are errors naming the file and the key as written in it: integer or bool adapter
 * tensors, a dimension outside [1, 2^31 - 1], alpha NaN/Inf/&lt;= 0, and (at load) NaN or Inf in any adapter tensor.
 */
public record LoraFile(Path path, LoraFormat format, Map<String, String> metadata, List<Module> modules,
        List<String> skipped) {
    /** How many unmatched keys an error lists. */
    static final int SHOW_KEYS = 20;

    /**
     * One adapted module: its kind, keys, shapes and alpha ({@code null}: none stored). For {@link AdapterKind#LORA},
     * {@link AdapterKind#DORA} and {@link AdapterKind#LOCON_TUCKER} the A/B keys and shapes are set (and
     * {@code factorKeys} holds the magnitude or {@code lora_mid}); for the LyCORIS kinds they are null and
     * {@code factorKeys} holds every factor key with its shape. A bias difference ({@code diff_b}) of any kind is in
     * {@code factorKeys} too.
     */
    public record Module(LoraComponent component, String module, String aKey, String bKey, String alphaKey,
            long[] aShape, long[] bShape, Double alpha, AdapterKind kind, Map<LoraKeyMap.Role, String> factorKeys,
            Map<LoraKeyMap.Role, long[]> factorShapes) {
        public Module {
            factorKeys = factorKeys == null ? Map.of() : Map.copyOf(factorKeys);
            factorShapes = factorShapes == null ? Map.of() : Map.copyOf(factorShapes);
        }

        /** A plain LoRA module. */
        public Module(LoraComponent component, String module, String aKey, String bKey, String alphaKey, long[] aShape,
                long[] bShape, Double alpha) {
            this(component, module, aKey, bKey, alphaKey, aShape, bShape, alpha, AdapterKind.LORA, null, null);
        }

        /** The rank alpha is divided by: LoRA's and LoHa's r, LoKr's decomposed dim, 0 where none applies. */
        public int rank() {
            return switch (kind) {
                case LORA, DORA, LOCON_TUCKER -> Math.toIntExact(aShape[0]);
                case LOHA -> Math.toIntExact(factorShapes.get(LoraKeyMap.Role.HADA_W1_B)[0]);
                case LOKR -> factorShapes.containsKey(LoraKeyMap.Role.LOKR_W2_B)
                        ? Math.toIntExact(factorShapes.get(LoraKeyMap.Role.LOKR_W2_B)[0])
                        : factorShapes.containsKey(LoraKeyMap.Role.LOKR_W1_B)
                                ? Math.toIntExact(factorShapes.get(LoraKeyMap.Role.LOKR_W1_B)[0]) : 0;
                case FULL_DIFF, BIAS_DIFF -> 0;
            };
        }

        /** Whether the weight difference is a conv's (4-D factors); false for a bias difference alone. */
        public boolean conv() {
            return switch (kind) {
                case LORA, DORA -> aShape.length == 4 || factorShapes.containsKey(LoraKeyMap.Role.MID);
                case LOCON_TUCKER -> true;
                case LOHA, LOKR, FULL_DIFF, BIAS_DIFF -> factorShapes.values().stream().anyMatch(s -> s.length == 4);
            };
        }

        /** DoRA's norm axis: {@link DoraAxis#INPUT} for kohya {@code dora_scale}, OUTPUT for PEFT; null for other kinds. */
        public DoraAxis doraAxis() {
            return factorKeys.containsKey(LoraKeyMap.Role.DORA_SCALE) ? DoraAxis.INPUT
                    : factorKeys.containsKey(LoraKeyMap.Role.MAGNITUDE) ? DoraAxis.OUTPUT : null;
        }

        /** The key of the module's bias difference ({@code diff_b}), or null. */
        public String biasKey() {
            return factorKeys.get(LoraKeyMap.Role.DIFF_B);
        }

        /** The factor of dW: alpha / rank (1 when no alpha is stored, or no rank applies). */
        public double scale() {
            return alpha == null || rank() == 0 ? 1.0 : alpha / rank();
        }

        /** The keys of the module as written in the file (A/B or the factors, then alpha). */
        public List<String> keys() {
            List<String> k = new ArrayList<>();
            if (aKey != null) {
                k.add(aKey);
                k.add(bKey);
            }
            for (LoraKeyMap.Role r : LoraKeyMap.Role.values()) { // role order: stable across runs
                if (factorKeys.containsKey(r)) {
                    k.add(factorKeys.get(r));
                }
            }
            if (alphaKey != null) {
                k.add(alphaKey);
            }
            return k;
        }

        /** The weight difference's [rows, columns] (columns = in * kh * kw), from the shapes alone; null for a bias alone. */
        public long[] deltaRowsCols() {
            return switch (kind) {
                case LORA -> new long[] {bShape[0], numel(aShape) / aShape[0]};
                case DORA, LOCON_TUCKER -> {
                    if (!factorShapes.containsKey(LoraKeyMap.Role.MID)) {
                        yield new long[] {bShape[0], numel(aShape) / aShape[0]};
                    }
                    long[] mid = factorShapes.get(LoraKeyMap.Role.MID);
                    yield new long[] {bShape[0], aShape[1] * mid[2] * mid[3]};
                }
                case BIAS_DIFF -> null;
                case LOHA -> factorShapes.containsKey(LoraKeyMap.Role.HADA_T1)
                        ? new long[] {factorShapes.get(LoraKeyMap.Role.HADA_W1_A)[1], factorShapes.get(LoraKeyMap.Role.HADA_W1_B)[1]
                                * factorShapes.get(LoraKeyMap.Role.HADA_T1)[2] * factorShapes.get(LoraKeyMap.Role.HADA_T1)[3]}
                        : new long[] {factorShapes.get(LoraKeyMap.Role.HADA_W1_A)[0], factorShapes.get(LoraKeyMap.Role.HADA_W1_B)[1]};
                case LOKR -> {
                    long[] w1 = factorShapes.containsKey(LoraKeyMap.Role.LOKR_W1) ? factorShapes.get(LoraKeyMap.Role.LOKR_W1)
                            : new long[] {factorShapes.get(LoraKeyMap.Role.LOKR_W1_A)[0], factorShapes.get(LoraKeyMap.Role.LOKR_W1_B)[1]};
                    long[] w2;
                    if (factorShapes.containsKey(LoraKeyMap.Role.LOKR_T2)) {
                        long[] t2 = factorShapes.get(LoraKeyMap.Role.LOKR_T2);
                        w2 = new long[] {factorShapes.get(LoraKeyMap.Role.LOKR_W2_A)[1], factorShapes.get(LoraKeyMap.Role.LOKR_W2_B)[1] * t2[2] * t2[3]};
                    } else if (factorShapes.containsKey(LoraKeyMap.Role.LOKR_W2)) {
                        long[] s2 = factorShapes.get(LoraKeyMap.Role.LOKR_W2);
                        w2 = new long[] {s2[0], numel(s2) / s2[0]};
                    } else {
                        long[] b = factorShapes.get(LoraKeyMap.Role.LOKR_W2_B);
                        w2 = new long[] {factorShapes.get(LoraKeyMap.Role.LOKR_W2_A)[0], numel(b) / b[0]};
                    }
                    yield new long[] {w1[0] * w2[0], w1[1] * w2[1]};
                }
                case FULL_DIFF -> {
                    long[] d = factorShapes.get(LoraKeyMap.Role.DIFF);
                    yield new long[] {d[0], numel(d) / d[0]};
                }
            };
        }

        public long parameterCount() {
            return (aShape == null ? 0 : numel(aShape) + numel(bShape)) + factorShapes.values().stream().mapToLong(LoraFile::numel).sum();
        }
    }

    public LoraFile {
        metadata = Map.copyOf(metadata);
        modules = List.copyOf(modules);
        skipped = List.copyOf(skipped);
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
            List<LoraWeights.Entry> entries = new ArrayList<>();
            for (Module m : index.modules()) {
                LoraWeights.Entry e = switch (m.kind()) {
                    case LORA -> new LoraWeights.Entry(m.component(), m.module(), finite(f.load(m.aKey(), manager, dtype), path,
                            m.aKey()), finite(f.load(m.bKey(), manager, dtype), path, m.bKey()), m.alpha());
                    case DORA -> {
                        String mag = m.factorKeys().get(m.doraAxis() == DoraAxis.INPUT ? LoraKeyMap.Role.DORA_SCALE : LoraKeyMap.Role.MAGNITUDE);
                        String mid = m.factorKeys().get(LoraKeyMap.Role.MID);
                        yield LoraWeights.Entry.dora(m.component(), m.module(), finite(f.load(m.aKey(), manager, dtype), path, m.aKey()),
                                finite(f.load(m.bKey(), manager, dtype), path, m.bKey()), m.alpha(),
                                finite(f.load(mag, manager, DataType.FLOAT32), path, mag), m.doraAxis(),
                                mid == null ? null : finite(f.load(mid, manager, dtype), path, mid));
                    }
                    case LOCON_TUCKER -> {
                        String mid = m.factorKeys().get(LoraKeyMap.Role.MID);
                        yield LoraWeights.Entry.tucker(m.component(), m.module(), finite(f.load(m.aKey(), manager, dtype), path,
                                m.aKey()), finite(f.load(mid, manager, dtype), path, mid), finite(f.load(m.bKey(), manager, dtype),
                                path, m.bKey()), m.alpha());
                    }
                    case LOHA, LOKR, FULL_DIFF -> {
                        Map<LoraKeyMap.Role, NDArray> factors = new java.util.EnumMap<>(LoraKeyMap.Role.class);
                        for (Map.Entry<LoraKeyMap.Role, String> fk : m.factorKeys().entrySet()) {
                            if (fk.getKey() != LoraKeyMap.Role.DIFF_B) {
                                factors.put(fk.getKey(), finite(f.load(fk.getValue(), manager, DataType.FLOAT32), path, fk.getValue()));
                            }
                        }
                        NDArray dense = LycorisDelta.of(m.kind(), factors, m.scale());
                        yield LoraWeights.Entry.dense(m.component(), m.module(), m.kind(),
                                dtype == null ? dense : dense.toType(dtype, false), m.alpha());
                    }
                    case BIAS_DIFF -> LoraWeights.Entry.biasOnly(m.component(), m.module());
                };
                String bias = m.biasKey();
                if (bias != null) {
                    NDArray db = finite(f.load(bias, manager, DataType.FLOAT32), path, bias);
                    e = e.withBiasDiff(dtype == null ? db : db.toType(dtype, false));
                }
                entries.add(e.withKey(m.keys().get(0)));
            }
            // the adapter tensors were checked one by one above (a LoraException naming the key); the skipped keys here
            io.lcmlora.io.FiniteWeights.require(f, index.skipped(), "this LoRA is broken (a diverged training run?)");
            return new LoraWeights(path.toString(), index.format(), entries, index.skippedCounts());
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
        List<String> skipped = new ArrayList<>();
        List<String> adapterKeys = new ArrayList<>();
        for (String key : f.tensors().keySet()) {
            (looksLikeAdapter(key) ? adapterKeys : skipped).add(key);
        }
        LoraFormat format = LoraFormat.detect(adapterKeys, path.toString());
        Map<String, Group> groups = new LinkedHashMap<>();
        Map<String, LoraKeyMap.Target> targets = new LinkedHashMap<>();
        List<String> unmatched = new ArrayList<>();
        for (String key : adapterKeys) {
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
            AdapterKind kind = kindOf(path, e.getKey(), g);
            Module mod = switch (kind) {
                case LOHA, LOKR, FULL_DIFF -> lycoris(f, path, e.getKey(), t, g, kind);
                case BIAS_DIFF -> new Module(t.component(), t.module(), null, null, g.alpha(), null, null, alpha(f, path, g),
                        kind, null, null);
                case LORA, DORA, LOCON_TUCKER -> lowRank(f, path, e.getKey(), t, g, kind);
            };
            modules.add(withBias(f, path, e.getKey(), g, mod));
        }
        return new LoraFile(path, format, f.metadata(), modules, skipped);
    }

    /** A LoRA pair (A/B), with its DoRA magnitude or LoCon Tucker core. */
    private static Module lowRank(SafeTensorsFile f, Path path, String id, LoraKeyMap.Target t, Group g, AdapterKind kind)
            throws IOException {
        if (g.a() == null || g.b() == null) {
            throw new LoraException(path + ": " + id + " has " + (g.a() == null ? "no A (down)" : "no B (up)")
                    + " tensor; keys present: " + String.join(", ", present(g)));
        }
        long[] aShape = checkedShape(f, path, g.a());
        long[] bShape = checkedShape(f, path, g.b());
        checkShapes(path, id, g, aShape, bShape);
        Double alpha = alpha(f, path, g);
        String mid = g.keys()[LoraKeyMap.Role.MID.ordinal()];
        long[] m = mid == null ? null : checkedShape(f, path, mid);
        // up [out, r_up, 1, 1] . mid [r_up, r_down, kh, kw] . down [r_down, in, 1, 1]
        if (m != null && (m.length != 4 || aShape.length == 4 && (aShape[2] != 1 || aShape[3] != 1) || m[0] != bShape[1]
                || m[1] != aShape[0])) {
            throw new LoraException(path + ": '" + mid + "' has shape " + Arrays.toString(m) + " with lora_down "
                    + Arrays.toString(aShape) + " and lora_up " + Arrays.toString(bShape) + ": a LoCon Tucker core must"
                    + " be [" + bShape[1] + ", " + aShape[0] + ", kh, kw] between lora_down [r, in, 1, 1] and"
                    + " lora_up [out, r, 1, 1]");
        }
        return switch (kind) {
            case DORA -> {
                Module d = dora(f, path, id, t, g, aShape, bShape, alpha);
                if (m == null) {
                    yield d;
                }
                Map<LoraKeyMap.Role, String> keys = new java.util.EnumMap<>(d.factorKeys());
                Map<LoraKeyMap.Role, long[]> shapes = new java.util.EnumMap<>(d.factorShapes());
                keys.put(LoraKeyMap.Role.MID, mid);
                shapes.put(LoraKeyMap.Role.MID, m);
                yield new Module(d.component(), d.module(), d.aKey(), d.bKey(), d.alphaKey(), aShape, bShape, alpha, kind, keys, shapes);
            }
            case LOCON_TUCKER -> new Module(t.component(), t.module(), g.a(), g.b(), g.alpha(), aShape, bShape, alpha, kind,
                    Map.of(LoraKeyMap.Role.MID, mid), Map.of(LoraKeyMap.Role.MID, m));
            case LORA -> new Module(t.component(), t.module(), g.a(), g.b(), g.alpha(), aShape, bShape, alpha);
            case LOHA, LOKR, FULL_DIFF, BIAS_DIFF -> throw new IllegalStateException(kind.label() + " is not a LoRA pair");
        };
    }

    /** {@code mod} with the module's bias difference ({@code diff_b}, 1-D [out]) added to its factors, if it has one. */
    private static Module withBias(SafeTensorsFile f, Path path, String id, Group g, Module mod) throws IOException {
        String key = g.keys()[LoraKeyMap.Role.DIFF_B.ordinal()];
        if (key == null) {
            return mod;
        }
        long[] shape = checkedShape(f, path, key);
        if (shape.length != 1) {
            throw new LoraException(path + ": '" + key + "' has shape " + Arrays.toString(shape) + ", expected a 1-D bias"
                    + " difference [out] for " + id);
        }
        Map<LoraKeyMap.Role, String> keys = new java.util.EnumMap<>(LoraKeyMap.Role.class);
        Map<LoraKeyMap.Role, long[]> shapes = new java.util.EnumMap<>(LoraKeyMap.Role.class);
        keys.putAll(mod.factorKeys());
        shapes.putAll(mod.factorShapes());
        keys.put(LoraKeyMap.Role.DIFF_B, key);
        shapes.put(LoraKeyMap.Role.DIFF_B, shape);
        return new Module(mod.component(), mod.module(), mod.aKey(), mod.bKey(), mod.alphaKey(), mod.aShape(), mod.bShape(),
                mod.alpha(), mod.kind(), keys, shapes);
    }

    /**
     * The kind of a module's keys: exactly one kind's tensors (plus alpha and a bias difference), a LoRA pair with a
     * DoRA magnitude or a LoCon Tucker core, a bias difference alone, or a clear error.
     */
    private static AdapterKind kindOf(Path path, String id, Group g) {
        AdapterKind kind = null;
        for (LoraKeyMap.Role r : LoraKeyMap.Role.values()) {
            String k = g.keys()[r.ordinal()];
            if (k == null || r.kind() == null) {
                continue;
            }
            AdapterKind rk = r.kind();
            if (kind == AdapterKind.DORA && rk == AdapterKind.LORA || kind == AdapterKind.LORA && rk == AdapterKind.DORA) {
                kind = AdapterKind.DORA; // a DoRA module is a LoRA pair plus its magnitude
                continue;
            }
            if (kind == AdapterKind.LOCON_TUCKER && rk == AdapterKind.LORA || kind == AdapterKind.LORA && rk == AdapterKind.LOCON_TUCKER) {
                kind = AdapterKind.LOCON_TUCKER; // a LoCon Tucker module is a LoRA pair plus its core
                continue;
            }
            if (kind == AdapterKind.DORA && rk == AdapterKind.LOCON_TUCKER || kind == AdapterKind.LOCON_TUCKER && rk == AdapterKind.DORA) {
                kind = AdapterKind.DORA; // DoRA whose low-rank term is a LoCon Tucker product (ComfyUI: lora_diff, then weight_decompose)
                continue;
            }
            if (kind != null && kind != r.kind()) {
                throw new LoraException(path + ": " + id + " mixes " + kind.label() + " and " + r.kind().label()
                        + " tensors (e.g. '" + k + "'); keys present: " + String.join(", ", present(g)));
            }
            kind = r.kind();
        }
        if (kind == null && g.keys()[LoraKeyMap.Role.DIFF_B.ordinal()] != null) {
            return AdapterKind.BIAS_DIFF;
        }
        if (kind == null) {
            throw new LoraException(path + ": " + id + " has only an alpha ('" + g.alpha() + "'), no adapter tensors");
        }
        return kind;
    }

    /** A LyCORIS module: its required factors present, 2-D or 4-D, with a readable alpha. */
    private static Module lycoris(SafeTensorsFile f, Path path, String id, LoraKeyMap.Target t, Group g, AdapterKind kind)
            throws IOException {
        LoraKeyMap.Role[][] required = switch (kind) {
            case LOHA -> new LoraKeyMap.Role[][] {{LoraKeyMap.Role.HADA_W1_A}, {LoraKeyMap.Role.HADA_W1_B},
                {LoraKeyMap.Role.HADA_W2_A}, {LoraKeyMap.Role.HADA_W2_B}};
            case LOKR -> new LoraKeyMap.Role[][] {{LoraKeyMap.Role.LOKR_W1, LoraKeyMap.Role.LOKR_W1_A},
                {LoraKeyMap.Role.LOKR_W2, LoraKeyMap.Role.LOKR_W2_A}};
            case FULL_DIFF -> new LoraKeyMap.Role[][] {{LoraKeyMap.Role.DIFF}};
            case LORA, DORA, LOCON_TUCKER, BIAS_DIFF -> throw new IllegalStateException(kind.label() + " is not a dense LyCORIS kind");
        };
        for (LoraKeyMap.Role[] oneOf : required) {
            if (Arrays.stream(oneOf).allMatch(r -> g.keys()[r.ordinal()] == null)) {
                throw new LoraException(path + ": " + id + " (" + kind.label() + ") has no " + oneOf[0].kohyaSuffix().substring(1)
                        + " tensor; keys present: " + String.join(", ", present(g)));
            }
        }
        for (LoraKeyMap.Role[] pair : new LoraKeyMap.Role[][] {{LoraKeyMap.Role.LOKR_W1_A, LoraKeyMap.Role.LOKR_W1_B},
            {LoraKeyMap.Role.LOKR_W2_A, LoraKeyMap.Role.LOKR_W2_B}, {LoraKeyMap.Role.HADA_T1, LoraKeyMap.Role.HADA_T2}}) {
            if ((g.keys()[pair[0].ordinal()] == null) != (g.keys()[pair[1].ordinal()] == null)) {
                throw new LoraException(path + ": " + id + " has only one of " + pair[0].kohyaSuffix().substring(1) + " and "
                        + pair[1].kohyaSuffix().substring(1) + "; keys present: " + String.join(", ", present(g)));
            }
        }
        Map<LoraKeyMap.Role, String> keys = new java.util.EnumMap<>(LoraKeyMap.Role.class);
        Map<LoraKeyMap.Role, long[]> shapes = new java.util.EnumMap<>(LoraKeyMap.Role.class);
        for (LoraKeyMap.Role r : LoraKeyMap.Role.values()) {
            String k = g.keys()[r.ordinal()];
            if (k == null || r == LoraKeyMap.Role.ALPHA || r == LoraKeyMap.Role.DIFF_B) {
                continue;
            }
            long[] shape = checkedShape(f, path, k);
            if (shape.length != 2 && shape.length != 4) {
                throw new LoraException(path + ": '" + k + "' has shape " + Arrays.toString(shape)
                        + ", expected a non-empty 2-D or 4-D " + kind.label() + " factor");
            }
            keys.put(r, k);
            shapes.put(r, shape);
        }
        return new Module(t.component(), t.module(), null, null, g.alpha(), null, null, alpha(f, path, g), kind, keys, shapes);
    }

    /**
     * A DoRA module: the LoRA pair and one magnitude, kohya {@code dora_scale} with in = A's shape[1] values or PEFT
     * {@code lora_magnitude_vector} with out = B's shape[0] values ({@link DoraAxis}).
     */
    private static Module dora(SafeTensorsFile f, Path path, String id, LoraKeyMap.Target t, Group g, long[] aShape,
            long[] bShape, Double alpha) throws IOException {
        String scale = g.keys()[LoraKeyMap.Role.DORA_SCALE.ordinal()];
        String mag = g.keys()[LoraKeyMap.Role.MAGNITUDE.ordinal()];
        if (scale != null && mag != null) {
            throw new LoraException(path + ": " + id + " has both a kohya dora_scale ('" + scale + "') and a PEFT"
                    + " lora_magnitude_vector ('" + mag + "'); keep one");
        }
        LoraKeyMap.Role role = scale != null ? LoraKeyMap.Role.DORA_SCALE : LoraKeyMap.Role.MAGNITUDE;
        String key = scale != null ? scale : mag;
        long[] shape = checkedShape(f, path, key);
        long want = role == LoraKeyMap.Role.DORA_SCALE ? aShape[1] : bShape[0];
        if (numel(shape) != want) {
            throw new LoraException(path + ": '" + key + "' has shape " + Arrays.toString(shape) + ", expected " + want
                    + " values (one per " + (role == LoraKeyMap.Role.DORA_SCALE ? "input" : "output") + " channel of "
                    + id + ")");
        }
        return new Module(t.component(), t.module(), g.a(), g.b(), g.alpha(), aShape, bShape, alpha, AdapterKind.DORA,
                Map.of(role, key), Map.of(role, shape));
    }

    private static Double alpha(SafeTensorsFile f, Path path, Group g) throws IOException {
        if (g.alpha() == null) {
            return null;
        }
        TensorInfo ai = f.info(g.alpha());
        if (ai.numel() != 1) {
            throw new LoraException(path + ": '" + g.alpha() + "' has shape " + Arrays.toString(ai.shape()) + ", expected a scalar");
        }
        double alpha = ai.dtype().isFloating() ? f.doubles(g.alpha())[0] : (double) f.longs(g.alpha())[0];
        if (!(alpha > 0) || Double.isInfinite(alpha)) {
            throw new LoraException(path + ": '" + g.alpha() + "' is " + alpha + ": alpha must be a finite number > 0");
        }
        return alpha;
    }

    /**
     * The header checks of an adapter tensor: a floating dtype and every dimension in [1, 2^31 - 1] (a [2^32, 0]
     * rank is refused here, before any size arithmetic).
     */
    private static long[] checkedShape(SafeTensorsFile f, Path path, String key) throws IOException {
        TensorInfo t = f.info(key);
        if (!t.dtype().isFloating()) {
            throw new LoraException(path + ": '" + key + "' is " + t.dtype() + ": adapter tensors must be floating point"
                    + " (F32, F16, BF16 or F64)");
        }
        long[] shape = t.shape();
        for (long d : shape) {
            if (d < 1 || d > Integer.MAX_VALUE) {
                throw new LoraException(path + ": '" + key + "' has shape " + Arrays.toString(shape) + ": every dimension"
                        + " must be in [1, " + Integer.MAX_VALUE + "]");
            }
        }
        return shape;
    }

    /** A loaded adapter tensor, refused when it holds NaN or Inf. */
    private static NDArray finite(NDArray x, Path path, String key) {
        try (NDArray bad = x.isNaN().logicalOr(x.isInfinite()); NDArray any = bad.any()) {
            if (any.getBoolean()) {
                throw new LoraException(path + ": '" + key + "' contains NaN or Inf values");
            }
        }
        return x;
    }

    /**
     * Whether a key is spelled like an adapter tensor in some convention (LoRA, LyCORIS, DoRA, alpha). Keys that are
     * not (a bundled textual inversion's {@code bundle_emb.*}, ...) are skipped and counted instead of refusing the
     * file; adapter-like keys that fit no module of the model stay an error (a wrong model).
     */
    static boolean looksLikeAdapter(String key) {
        return key.startsWith("lora_") || key.contains(".lora_") || key.contains(".lora.") || key.contains("_lora.")
                || key.endsWith(".alpha") || key.contains(".hada_") || key.contains(".lokr_") || key.endsWith(".diff")
                || key.endsWith(".diff_b") || key.contains("dora_scale") || key.contains("lora_magnitude_vector");
    }

    /** The skipped keys counted by their first dotted segment ({@code bundle_emb: 2}), in file order. */
    public Map<String, Integer> skippedCounts() {
        Map<String, Integer> c = new LinkedHashMap<>();
        for (String k : skipped) {
            int dot = k.indexOf('.');
            c.merge(dot < 0 ? k : k.substring(0, dot), 1, Integer::sum);
        }
        return c;
    }

    /** Refuses a file with skipped keys ({@code --strict}). */
    public LoraFile requireNoSkipped() {
        if (!skipped.isEmpty()) {
            throw new LoraException(path + ": --strict: " + skipped.size() + " key(s) are not adapter tensors and would be"
                    + " skipped: " + String.join(", ", skipped.subList(0, Math.min(SHOW_KEYS, skipped.size())))
                    + (skipped.size() > SHOW_KEYS ? ", ..." : ""));
        }
        return this;
    }

    /** {@link #load} that first refuses skipped keys when {@code strict}. */
    public static LoraWeights load(Path path, LoraKeyMap map, NDManager manager, DataType dtype, boolean strict) throws IOException {
        if (strict) {
            read(path, map).requireNoSkipped();
        }
        return load(path, map, manager, dtype);
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

    /** ComfyUI adapter keys this reader does not apply: GLoRA, norm-layer differences, set_weight, OFT/BOFT. */
    private static final List<String> UNSUPPORTED = List.of(".a1.weight", ".a2.weight", ".b1.weight", ".b2.weight", ".w_norm",
            ".b_norm", ".set_weight", ".oft_blocks", ".oft_diag", ".rescale", ".reshape_weight");

    private static String unsupportedHint(List<String> keys) {
        for (String k : keys) {
            if (UNSUPPORTED.stream().anyMatch(k::endsWith)) {
                return " ('" + k + "' is of an adapter kind that is not supported (GLoRA a1/a2/b1/b2, norm-layer"
                        + " w_norm/b_norm, set_weight, OFT/BOFT): LoRA, LoCon Tucker, DoRA, LoHa, LoKr (with Tucker cores), full"
                        + " weight and bias differences only)";
            }
        }
        return "";
    }

    /**
     * Compares every module's weight difference with the model's weight shapes ({@code shapes}: per component, module
     * path -> weight shape); returns one line per mismatch naming the file's keys, empty when everything fits.
     */
    public List<String> mismatches(Map<LoraComponent, Map<String, long[]>> shapes) {
        List<String> out = new ArrayList<>();
        for (Module m : modules) {
            long[] w = shapes.getOrDefault(m.component(), Map.of()).get(m.module());
            if (w == null) {
                continue;
            }
            long[] db = m.factorShapes().get(LoraKeyMap.Role.DIFF_B);
            if (db != null && db[0] != w[0]) {
                out.add(m.biasKey() + " (bias diff of " + m.component().diffusersPrefix() + "." + m.module() + "): gives ["
                        + db[0] + "] bias values, the model's weight " + Arrays.toString(w) + " has " + w[0] + " outputs");
            }
            long[] d = m.deltaRowsCols();
            long[] want = {w[0], numel(w) / w[0]};
            if (d != null && !Arrays.equals(d, want)) {
                out.add(m.keys().get(0) + " (" + m.kind().label() + " of " + m.component().diffusersPrefix() + "." + m.module()
                        + "): gives a [" + d[0] + ", " + d[1] + "] weight difference, the model's weight is "
                        + Arrays.toString(w));
            }
        }
        return out;
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
