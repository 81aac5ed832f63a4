package io.lcmlora.train.distill;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import io.lcmlora.lora.LoraAdapter;
import io.lcmlora.lora.LoraTargets;
import io.lcmlora.nn.AdaptableLayer;
import io.lcmlora.nn.Conv2d;
import io.lcmlora.nn.Linear;
import io.lcmlora.nn.NoGrad;
import io.lcmlora.train.config.LoraConfig;
import io.lcmlora.train.loop.Rng;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The trained LoRA of the student UNet: per target layer (PEFT's {@code target_modules} rule) an A (down) and a B
 * (up) matrix, created as PEFT 0.7 does ({@code LoraLayer.reset_lora_parameters}): A ~ {@code kaiming_uniform_(a =
 * sqrt(5))}, i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = in (Linear) or in*k*k (Conv2d), or N(0, (1/r)^2)
 * for {@code gaussian}; B = 0, so the first student equals the teacher. Draws come from the run's {@link Rng}, so a
 * seed gives the same LoRA on every machine.
 *
 * <p>The masters are fp32 and are what the optimizer updates and checkpoints store, under PEFT's state-dict names
 * ({@code <module>.lora_A.weight}, {@code <module>.lora_B.weight}). With fp32 weights the adapters compute with the
 * masters themselves; with fp16 weights they compute with fp16 copies (leaves with gradients), refreshed from the
 * masters by {@link #syncCompute()} before each step, whose gradients {@link #masterGradients(double)} converts
 * back to fp32 and unscales.
 */
public final class TrainableLora implements AutoCloseable {
    /** The adapter name the trainer registers on the UNet. */
    public static final String ADAPTER = "lcm";

    private final Map<String, NDArray> masters;
    private final Map<String, NDArray> compute;
    private final Map<String, LoraAdapter> modules;
    private final LoraConfig config;
    private final NDManager manager;

    private TrainableLora(Map<String, NDArray> masters, Map<String, NDArray> compute, Map<String, LoraAdapter> modules,
            LoraConfig config, NDManager manager) {
        this.masters = Collections.unmodifiableMap(masters);
        this.compute = Collections.unmodifiableMap(compute);
        this.modules = Collections.unmodifiableMap(modules);
        this.config = config;
        this.manager = manager;
    }

    /**
     * Creates the LoRA on every layer matched by {@code config.target_modules}, in the model's layer order, computing
     * in {@code computeType} (the frozen weights' type: FLOAT32, FLOAT16 or BFLOAT16).
     */
    public static TrainableLora create(Map<String, AdaptableLayer> layers, LoraConfig config, Rng rng, NDManager parent,
            DataType computeType) {
        Map<String, AdaptableLayer> targets = LoraTargets.select(layers, config.targetModules());
        if (targets.isEmpty()) {
            throw new IllegalArgumentException("lora.target_modules " + config.targetModules()
                    + " match no Linear/Conv2d layer of the UNet (PEFT rule: a module path equals a target or ends with '.' + target)");
        }
        if (computeType != DataType.FLOAT32 && computeType != DataType.FLOAT16 && computeType != DataType.BFLOAT16) {
            throw new IllegalArgumentException("LoRA compute type must be FLOAT32, FLOAT16 or BFLOAT16, got "
                    + computeType);
        }
        NDManager manager = parent.newSubManager();
        Map<String, NDArray> masters = new LinkedHashMap<>();
        Map<String, NDArray> compute = new LinkedHashMap<>();
        Map<String, LoraAdapter> modules = new LinkedHashMap<>();
        int r = config.rank();
        for (Map.Entry<String, AdaptableLayer> e : targets.entrySet()) {
            AdaptableLayer layer = e.getValue();
            Shape aShape;
            Shape bShape;
            if (layer instanceof Linear l) {
                aShape = new Shape(r, l.in());
                bShape = new Shape(l.out(), r);
            } else if (layer instanceof Conv2d c) {
                aShape = new Shape(r, c.in(), c.kernel(), c.kernel());
                bShape = new Shape(c.out(), r, 1, 1);
            } else {
                throw new IllegalArgumentException(e.getKey() + ": LoRA needs a Linear or Conv2d layer");
            }
            float[] a = new float[Math.toIntExact(aShape.size())];
            long fanIn = aShape.size() / r;
            switch (config.init()) {
                case KAIMING_UNIFORM -> {
                    double bound = 1.0 / Math.sqrt(fanIn);
                    for (int i = 0; i < a.length; i++) {
                        a[i] = (float) rng.uniform(-bound, bound);
                    }
                }
                case GAUSSIAN -> {
                    for (int i = 0; i < a.length; i++) {
                        a[i] = (float) (rng.nextGaussian() / r);
                    }
                }
            }
            NDArray am = manager.create(a, aShape).toDevice(layer.weight().getDevice(), false);
            NDArray bm = manager.zeros(bShape, DataType.FLOAT32, layer.weight().getDevice());
            String aName = e.getKey() + ".lora_A.weight";
            String bName = e.getKey() + ".lora_B.weight";
            masters.put(aName, am);
            masters.put(bName, bm);
            NDArray ac = computeType == DataType.FLOAT32 ? am : am.toType(computeType, true);
            NDArray bc = computeType == DataType.FLOAT32 ? bm : bm.toType(computeType, true);
            ac.setRequiresGradient(true);
            bc.setRequiresGradient(true);
            compute.put(aName, ac);
            compute.put(bName, bc);
            modules.put(e.getKey(), new LoraAdapter(layer, ac, bc, config.alpha()));
        }
        return new TrainableLora(masters, compute, modules, config, manager);
    }

    /** fp32 master weights by PEFT state-dict name (what the optimizer updates and checkpoints store). */
    public Map<String, NDArray> masters() {
        return masters;
    }

    /** The adapter modules by module path, for {@code Adapters.add(ADAPTER, modules(), 1.0)}. */
    public Map<String, LoraAdapter> modules() {
        return modules;
    }

    public LoraConfig config() {
        return config;
    }

    /** True when the adapters compute with fp16 or bf16 copies of the masters. */
    public boolean mixedPrecision() {
        return compute.values().iterator().next() != masters.values().iterator().next();
    }

    /** Copies the masters into the compute copies (no-op for fp32); call before each step's forward passes. */
    public void syncCompute() {
        if (!mixedPrecision()) {
            return;
        }
        try (NoGrad ng = NoGrad.open()) {
            for (var e : masters.entrySet()) {
                NDArray c = compute.get(e.getKey());
                try (NDArray cast = e.getValue().toType(c.getDataType(), false)) {
                    c.set(new NDIndex("..."), cast);
                }
            }
        }
    }

    /**
     * The accumulated gradients as fp32 arrays by master name, divided by {@code lossScale}. For fp32 they are the
     * masters' own {@code .grad} (views: clipping them in place clips the gradients); for fp16 new fp32 arrays.
     * The caller closes them.
     */
    public Map<String, NDArray> masterGradients(double lossScale) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        try (NoGrad ng = NoGrad.open()) {
            for (var e : compute.entrySet()) {
                NDArray g = e.getValue().getGradient();
                if (!mixedPrecision()) {
                    out.put(e.getKey(), g);
                    continue;
                }
                NDArray g32 = g.toType(DataType.FLOAT32, true);
                g.close();
                if (lossScale != 1.0) {
                    g32.divi((float) lossScale); // grad mode is off: the scalar is not retained by autograd
                }
                out.put(e.getKey(), g32);
            }
        }
        return out;
    }

    /** Zeroes the gradients of the compute arrays (after an update, or when an update is skipped). */
    public void zeroGradients() {
        for (NDArray c : compute.values()) {
            JniUtils.zeroGrad((PtNDArray) c);
        }
    }

    /** The current weights as plain fp32 host values by master name (for exporters and tests). */
    public Map<String, float[]> values() {
        Map<String, float[]> out = new LinkedHashMap<>();
        masters.forEach((k, v) -> out.put(k, v.toFloatArray()));
        return out;
    }

    @Override
    public void close() {
        manager.close();
    }
}
