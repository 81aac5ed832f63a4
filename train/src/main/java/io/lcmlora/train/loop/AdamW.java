package io.lcmlora.train.loop;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.io.SafeTensorsWriter;
import io.lcmlora.train.config.OptimConfig;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * AdamW with decoupled weight decay, the update of {@code torch.optim.AdamW} (single-tensor path, no amsgrad):
 * <pre>
 *   t += 1
 *   p  *= 1 - lr * weight_decay
 *   m  += (1 - beta1) * (g - m)                  (exp_avg.lerp_(grad, 1 - beta1))
 *   v   = beta2 * v + (1 - beta2) * g * g
 *   p  -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * </pre>
 * The moments m, v are fp32 arrays owned by this optimizer (created at construction in its own manager and
 * unregistered from any open {@link NDScope}, so a per-step scope never frees them) and can be saved and restored
 * exactly, unlike DJL's optimizer whose state is private. Parameters must be fp32 (the LoRA masters).
 */
public final class AdamW implements AutoCloseable {
    private final Map<String, NDArray> params;
    private final Map<String, NDArray> expAvg = new LinkedHashMap<>();
    private final Map<String, NDArray> expAvgSq = new LinkedHashMap<>();
    private final NDManager manager;
    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;
    private long step;

    public AdamW(Map<String, NDArray> params, double beta1, double beta2, double eps, double weightDecay) {
        if (params.isEmpty()) {
            throw new IllegalArgumentException("AdamW needs at least one parameter");
        }
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(eps > 0) || !(weightDecay >= 0)) {
            throw new IllegalArgumentException("bad AdamW hyper-parameters: betas (" + beta1 + ", " + beta2 + "), eps "
                    + eps + ", weight decay " + weightDecay);
        }
        this.params = Collections.unmodifiableMap(new LinkedHashMap<>(params));
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        NDArray first = params.values().iterator().next();
        this.manager = first.getManager().newSubManager(first.getDevice());
        for (var e : this.params.entrySet()) {
            NDArray p = e.getValue();
            if (p.getDataType() != DataType.FLOAT32) {
                throw new IllegalArgumentException("parameter '" + e.getKey() + "' is " + p.getDataType()
                        + "; AdamW updates fp32 master weights only");
            }
            NDArray m = manager.zeros(p.getShape(), DataType.FLOAT32, p.getDevice());
            NDArray v = manager.zeros(p.getShape(), DataType.FLOAT32, p.getDevice());
            NDScope.unregister(m, v);
            expAvg.put(e.getKey(), m);
            expAvgSq.put(e.getKey(), v);
        }
    }

    public static AdamW of(Map<String, NDArray> params, OptimConfig c) {
        return new AdamW(params, c.beta1(), c.beta2(), c.eps(), c.weightDecay());
    }

    /** Updates every parameter from its own gradient ({@code getGradient()}), then zeroes the gradients. */
    public void step(double lr) {
        Map<String, NDArray> grads = new LinkedHashMap<>();
        for (var e : params.entrySet()) {
            grads.put(e.getKey(), e.getValue().getGradient());
        }
        try {
            step(lr, grads);
            for (NDArray p : params.values()) {
                JniUtils.zeroGrad((PtNDArray) p);
            }
        } finally {
            grads.values().forEach(NDArray::close);
        }
    }

    /** Updates every parameter from the given gradients (e.g. fp32 gradients of fp16 compute copies). */
    public void step(double lr, Map<String, NDArray> grads) {
        if (!(lr >= 0) || Double.isInfinite(lr)) {
            throw new IllegalArgumentException("learning rate must be finite and >= 0, got " + lr);
        }
        if (!grads.keySet().equals(params.keySet())) {
            throw new IllegalArgumentException("gradients for " + grads.keySet() + " but parameters " + params.keySet());
        }
        boolean gradMode = JniUtils.isGradMode();
        JniUtils.setGradMode(false); // in-place updates of leaves; nothing here may be recorded
        try {
            step++;
            double bc1 = 1 - Math.pow(beta1, step);
            double bc2Sqrt = Math.sqrt(1 - Math.pow(beta2, step));
            double stepSize = lr / bc1;
            for (var e : params.entrySet()) {
                String name = e.getKey();
                NDArray p = e.getValue();
                NDArray g = grads.get(name);
                NDArray m = expAvg.get(name);
                NDArray v = expAvgSq.get(name);
                if (!g.getShape().equals(p.getShape()) || g.getDataType() != DataType.FLOAT32) {
                    throw new IllegalArgumentException("gradient of '" + name + "' is " + g.getDataType() + " "
                            + g.getShape() + ", parameter is FLOAT32 " + p.getShape());
                }
                // Scalar operands are fine here: grad mode is off, so nothing keeps them alive past the op.
                if (weightDecay != 0) {
                    p.muli((float) (1 - lr * weightDecay));
                }
                try (NDArray d = g.sub(m)) {
                    m.addi(d.muli((float) (1 - beta1)));
                }
                try (NDArray gg = g.mul(g)) {
                    v.muli((float) beta2).addi(gg.muli((float) (1 - beta2)));
                }
                try (NDArray denom = v.sqrt(); NDArray upd = m.div(denom.divi((float) bc2Sqrt).addi((float) eps))) {
                    p.subi(upd.muli((float) stepSize));
                }
            }
        } finally {
            JniUtils.setGradMode(gradMode);
        }
    }

    /** Updates done so far (torch's per-parameter {@code step}, equal for all parameters here). */
    public long steps() {
        return step;
    }

    public NDArray expAvg(String name) {
        return expAvg.get(name);
    }

    public NDArray expAvgSq(String name) {
        return expAvgSq.get(name);
    }

    public Map<String, NDArray> params() {
        return params;
    }

    /** Writes {@code <name>.exp_avg}, {@code <name>.exp_avg_sq} (F32) and {@code step} (I64) plus the hyper-parameters. */
    public void save(Path file) throws IOException {
        stateWriter().write(file);
    }

    /** The state as a safetensors writer (the arrays are copied to the host now). */
    SafeTensorsWriter stateWriter() {
        SafeTensorsWriter w = new SafeTensorsWriter();
        w.metadata("format", "lcm-lora-java AdamW");
        w.metadata("beta1", Double.toString(beta1)).metadata("beta2", Double.toString(beta2))
                .metadata("eps", Double.toString(eps)).metadata("weight_decay", Double.toString(weightDecay));
        w.addLongs("step", new long[] {1}, new long[] {step});
        for (String name : params.keySet()) {
            w.add(name + ".exp_avg", expAvg.get(name));
            w.add(name + ".exp_avg_sq", expAvgSq.get(name));
        }
        return w;
    }

    /** Restores the moments and the step count saved by {@link #save}; parameter names and shapes must match. */
    public void load(Path file) throws IOException {
        try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
            if (!f.contains("step")) {
                throw new IOException(file + ": no 'step' tensor; not an optimizer state file");
            }
            long[] s = f.longs("step");
            for (String name : params.keySet()) {
                copyInto(f, name + ".exp_avg", expAvg.get(name));
                copyInto(f, name + ".exp_avg_sq", expAvgSq.get(name));
            }
            int expected = 2 * params.size() + 1;
            if (f.tensors().size() != expected) {
                throw new IOException(file + ": holds " + f.tensors().size() + " tensors, expected " + expected
                        + " (state of other parameters?)");
            }
            step = s[0];
        }
    }

    /** Copies a stored tensor into an existing array of the same shape (fp32), in place. */
    static void copyInto(SafeTensorsFile f, String name, NDArray target) throws IOException {
        if (!f.contains(name)) {
            throw new IOException(f.path() + ": missing tensor '" + name + "'");
        }
        long[] shape = f.info(name).shape();
        if (!Arrays.equals(shape, target.getShape().getShape())) {
            throw new IOException(f.path() + ": tensor '" + name + "' has shape " + Arrays.toString(shape)
                    + ", expected " + target.getShape());
        }
        float[] v = f.floats(name);
        ByteBuffer b = ByteBuffer.allocateDirect(v.length * 4).order(ByteOrder.nativeOrder());
        b.asFloatBuffer().put(v);
        target.set(b);
    }

    @Override
    public void close() {
        manager.close();
    }
}
