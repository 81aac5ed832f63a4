package io.lcmlora.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.nn.AdaptableLayer;
import io.lcmlora.nn.Conv2d;
import io.lcmlora.nn.Linear;
import io.lcmlora.nn.Ops;
import io.lcmlora.nn.Weights;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * LoHa, LoKr (full and decomposed, linear and conv) and full weight differences against testdata/golden/lycoris,
 * computed by numpy from ComfyUI's/LyCORIS' formulas (re-run: python3 tools/golden/make_lycoris_golden.py
 * testdata/golden/lycoris/cases.safetensors): the dense dW within 1e-5 relative, unfused == fused within 1e-5, at
 * adapter weight 0.8.
 */
class LycorisGoldenTest {
    static final Path FILE = Path.of(System.getProperty("golden.dir"), "lycoris", "cases.safetensors");
    static final Map<String, AdapterKind> KINDS = Map.of("loha_lin", AdapterKind.LOHA, "loha_conv", AdapterKind.LOHA,
            "lokr_lin", AdapterKind.LOKR, "lokrd_lin", AdapterKind.LOKR, "lokr_conv", AdapterKind.LOKR,
            "full_lin", AdapterKind.FULL_DIFF, "lohat_conv", AdapterKind.LOHA, "lokrt_conv", AdapterKind.LOKR);

    static double maxAbs(NDArray a, NDArray b) {
        return a.sub(b).abs().max().getFloat();
    }

    @Test
    void everyKindMatchesTheReferenceFormulaUnfusedAndFused(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        try (NDManager m = NDManager.newBaseManager(); SafeTensorsFile g = SafeTensorsFile.open(FILE)) {
            Engine.getInstance().setRandomSeed(5);
            Map<String, AdaptableLayer> layers = new LinkedHashMap<>();
            Map<String, NDArray> originals = new HashMap<>();
            for (String name : KINDS.keySet()) {
                boolean conv = name.endsWith("_conv");
                NDArray w = m.randomNormal(conv ? new Shape(4, 3, 3, 3) : new Shape(8, 6));
                NDArray bias = m.randomNormal(new Shape(conv ? 4 : 8));
                Weights vb = Weights.of(m, Map.of(name + ".weight", w, name + ".bias", bias), "test").pp(name);
                layers.put(name, conv ? new Conv2d(vb, 3, 4, 3, 1, 1) : new Linear(vb, 6, 8, true));
                originals.put(name, w);
            }
            LoraKeyMap keys = LoraKeyMap.of(Map.of(LoraComponent.UNET, List.copyOf(layers.keySet())), null);
            // the file also holds expected.*, base.* and the DoRA cases: index this test's adapter keys through a filtered copy
            Path adapters = tmp.resolve("lycoris.safetensors");
            io.lcmlora.io.SafeTensorsWriter out = new io.lcmlora.io.SafeTensorsWriter();
            for (String k : g.tensors().keySet()) {
                if (k.startsWith("lora_unet_") && KINDS.containsKey(k.substring("lora_unet_".length(), k.indexOf('.')))) {
                    out.add(k, g.info(k).dtype(), g.info(k).shape(), g.bytes(k));
                }
            }
            out.write(adapters);
            {
                LoraFile index = LoraFile.read(adapters, keys);
                assertEquals(KINDS.size(), index.modules().size());
                for (LoraFile.Module mod : index.modules()) {
                    assertEquals(KINDS.get(mod.module()), mod.kind(), mod.module());
                }
                assertTrue(LoraSummary.describe(index).contains("loha"), LoraSummary.describe(index));
                Adapters a = new Adapters(LoraComponent.UNET, layers);
                a.load(LoraFile.load(adapters, keys, m, DataType.FLOAT32), "style", 0.8);
                Map<String, NDArray> unfused = new HashMap<>();
                Map<String, NDArray> inputs = new HashMap<>();
                for (Map.Entry<String, AdaptableLayer> e : layers.entrySet()) {
                    String name = e.getKey();
                    boolean conv = name.endsWith("_conv");
                    NDArray expected = g.load("expected." + name, m);
                    LoraAdapter mod = a.adapter("style").get(name);
                    assertEquals(KINDS.get(name), mod.kind());
                    // 1. dW against numpy, relative to its largest value
                    double scale = expected.abs().max().getFloat();
                    assertTrue(maxAbs(mod.dense(), expected) <= 1e-5 * scale, name + " dW " + maxAbs(mod.dense(), expected));
                    // 2. unfused forward = base + 0.8 * (the layer op with the numpy dW)
                    NDArray x = m.randomNormal(conv ? new Shape(2, 3, 5, 5) : new Shape(2, 3, 6));
                    NDArray bias = e.getValue().bias();
                    NDArray want = conv ? Conv2d.convolve(x, originals.get(name).add(Ops.mulScalar(expected, 0.8)), bias, 1, 1)
                            : Ops.linear(x, originals.get(name).add(Ops.mulScalar(expected, 0.8)), bias);
                    NDArray got = e.getValue().forward(x);
                    assertTrue(maxAbs(got, want) <= 1e-5 * Math.max(1, want.abs().max().getFloat()), name + " unfused "
                            + maxAbs(got, want));
                    unfused.put(name, got);
                    inputs.put(name, x);
                }
                // 3. fused == unfused
                a.fuse();
                for (Map.Entry<String, AdaptableLayer> e : layers.entrySet()) {
                    NDArray y = e.getValue().forward(inputs.get(e.getKey()));
                    NDArray u = unfused.get(e.getKey());
                    assertTrue(maxAbs(y, u) <= 1e-5 * Math.max(1, u.abs().max().getFloat()), e.getKey() + " fused vs unfused");
                }
                a.unfuse();
                for (Map.Entry<String, AdaptableLayer> e : layers.entrySet()) {
                    assertTrue(e.getValue().weight() == originals.get(e.getKey()), "unfuse restores the original array");
                }
            }
        }
    }
    static final Path PEFT_FILE = Path.of(System.getProperty("golden.dir"), "lycoris", "peft_dora.safetensors");

    /**
     * DoRA against the numpy cases of the same script: kohya {@code dora_scale} (norm per input column, ComfyUI) and
     * PEFT {@code lora_magnitude_vector} (norm per output row, peft), Linear and Conv2d, and kohya DoRA on a LoCon Tucker
     * core ({@code dorat_conv}), at adapter weight 0.8: W' - W
     * within 1e-5 relative, the unfused runtime form equal to the layer op with W' within 1e-5, fused == unfused.
     */
    @Test
    void doraMatchesBothReferencesUnfusedAndFused(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        Map<String, DoraAxis> cases = Map.of("dora_lin", DoraAxis.INPUT, "dora_conv", DoraAxis.INPUT,
                "dorat_conv", DoraAxis.INPUT, "pdora_lin", DoraAxis.OUTPUT, "pdora_conv", DoraAxis.OUTPUT);
        try (NDManager m = NDManager.newBaseManager(); SafeTensorsFile g = SafeTensorsFile.open(FILE)) {
            Engine.getInstance().setRandomSeed(7);
            Map<String, AdaptableLayer> layers = new LinkedHashMap<>();
            Map<String, NDArray> originals = new HashMap<>();
            for (String name : cases.keySet()) {
                boolean conv = name.endsWith("_conv");
                NDArray w = g.load("base." + name, m);
                NDArray bias = m.randomNormal(new Shape(conv ? 4 : 8));
                Weights vb = Weights.of(m, Map.of(name + ".weight", w, name + ".bias", bias), "test").pp(name);
                layers.put(name, conv ? new Conv2d(vb, 3, 4, 3, 1, 1) : new Linear(vb, 6, 8, true));
                originals.put(name, w);
            }
            LoraKeyMap keys = LoraKeyMap.of(Map.of(LoraComponent.UNET, List.copyOf(layers.keySet())), null);
            Path kohya = tmp.resolve("kohya_dora.safetensors");
            io.lcmlora.io.SafeTensorsWriter out = new io.lcmlora.io.SafeTensorsWriter();
            for (String k : g.tensors().keySet()) {
                if (k.startsWith("lora_unet_dora_") || k.startsWith("lora_unet_dorat_")) {
                    out.add(k, g.info(k).dtype(), g.info(k).shape(), g.bytes(k));
                }
            }
            out.write(kohya);
            LoraFile kIndex = LoraFile.read(kohya, keys);
            LoraFile pIndex = LoraFile.read(PEFT_FILE, keys);
            assertEquals(LoraFormat.KOHYA_DIFFUSERS, kIndex.format());
            assertEquals(LoraFormat.PEFT, pIndex.format());
            for (LoraFile.Module mod : kIndex.modules()) {
                assertEquals(AdapterKind.DORA, mod.kind(), mod.module());
                // dorat_conv: DoRA on a LoCon Tucker core (lora_mid)
                assertEquals(mod.module().startsWith("dorat") ? 5 : 4, mod.keys().size(), "down, up, (mid,) dora_scale, alpha: " + mod.keys());
            }
            assertTrue(LoraSummary.describe(pIndex).contains("dora"), LoraSummary.describe(pIndex));
            Adapters a = new Adapters(LoraComponent.UNET, layers);
            a.load(LoraFile.load(kohya, keys, m, DataType.FLOAT32), "kohya", 0.8);
            a.load(LoraFile.load(PEFT_FILE, keys, m, DataType.FLOAT32), "peft", 0.8);
            Map<String, NDArray> unfused = new HashMap<>();
            Map<String, NDArray> inputs = new HashMap<>();
            for (Map.Entry<String, AdaptableLayer> e : layers.entrySet()) {
                String name = e.getKey();
                boolean conv = name.endsWith("_conv");
                LoraAdapter mod = a.adapter(name.startsWith("p") ? "peft" : "kohya").get(name);
                assertEquals(AdapterKind.DORA, mod.kind(), name);
                assertEquals(cases.get(name), mod.doraAxis(), name);
                assertEquals(name.startsWith("dorat"), mod.mid() != null, name + ": Tucker core");
                NDArray expected = g.load("expected_w08." + name, m);
                double scale = expected.abs().max().getFloat();
                // 1. W' - W against numpy
                assertTrue(maxAbs(mod.deltaWeight(), expected) <= 1e-5 * scale, name + " dW " + maxAbs(mod.deltaWeight(), expected));
                // 2. the unfused runtime form = the layer op with numpy's W'
                NDArray x = m.randomNormal(conv ? new Shape(2, 3, 5, 5) : new Shape(2, 3, 6));
                NDArray bias = e.getValue().bias();
                NDArray wNew = originals.get(name).add(expected);
                NDArray want = conv ? Conv2d.convolve(x, wNew, bias, 1, 1) : Ops.linear(x, wNew, bias);
                NDArray got = e.getValue().forward(x);
                double tol = 1e-5 * Math.max(1, want.abs().max().getFloat());
                assertTrue(maxAbs(got, want) <= tol, name + " unfused " + maxAbs(got, want));
                unfused.put(name, got);
                inputs.put(name, x);
            }
            // 3. fused == unfused
            a.fuse();
            for (Map.Entry<String, AdaptableLayer> e : layers.entrySet()) {
                NDArray y = e.getValue().forward(inputs.get(e.getKey()));
                NDArray u = unfused.get(e.getKey());
                assertTrue(maxAbs(y, u) <= 1e-5 * Math.max(1, u.abs().max().getFloat()), e.getKey() + " fused vs unfused "
                        + maxAbs(y, u));
            }
            a.unfuse();
            for (Map.Entry<String, AdaptableLayer> e : layers.entrySet()) {
                assertTrue(e.getValue().weight() == originals.get(e.getKey()), "unfuse restores the original array");
            }
        }
    }

    /**
     * LoCon with a Tucker core ({@code lora_mid}, on a stride-2 conv), a full diff with {@code diff_b}, a bias difference
     * alone and a LoRA pair with {@code diff_b}, against the numpy cases of the same script (ComfyUI lora.py): at
     * adapter weight 0.8 the weight and bias differences within 1e-5 relative, the unfused forward = the layer op with
     * W + 0.8 dW and b + 0.8 db within 1e-5, fused == unfused within 1e-5, and unfuse restores both original arrays.
     */
    @Test
    void loconTuckerAndBiasDifferencesMatchTheReferenceUnfusedAndFused(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        Map<String, AdapterKind> cases = Map.of("locont_conv", AdapterKind.LOCON_TUCKER, "fullb_lin", AdapterKind.FULL_DIFF,
                "bias_conv", AdapterKind.BIAS_DIFF, "lorab_lin", AdapterKind.LORA);
        try (NDManager m = NDManager.newBaseManager(); SafeTensorsFile g = SafeTensorsFile.open(FILE)) {
            Engine.getInstance().setRandomSeed(11);
            Map<String, AdaptableLayer> layers = new LinkedHashMap<>();
            Map<String, NDArray> weights = new HashMap<>();
            Map<String, NDArray> biases = new HashMap<>();
            for (String name : cases.keySet()) {
                boolean conv = name.endsWith("_conv");
                NDArray w = m.randomNormal(conv ? new Shape(4, 3, 3, 3) : new Shape(8, 6));
                NDArray bias = m.randomNormal(new Shape(conv ? 4 : 8));
                Weights vb = Weights.of(m, Map.of(name + ".weight", w, name + ".bias", bias), "test").pp(name);
                // the Tucker case on a stride-2 conv: lora_mid carries the layer's stride and padding
                layers.put(name, conv ? new Conv2d(vb, 3, 4, 3, name.startsWith("locont") ? 2 : 1, 1) : new Linear(vb, 6, 8, true));
                weights.put(name, w);
                biases.put(name, bias);
            }
            LoraKeyMap keys = LoraKeyMap.of(Map.of(LoraComponent.UNET, List.copyOf(layers.keySet())), null);
            Path file = tmp.resolve("locon_bias.safetensors");
            io.lcmlora.io.SafeTensorsWriter out = new io.lcmlora.io.SafeTensorsWriter();
            for (String k : g.tensors().keySet()) {
                if (k.startsWith("lora_unet_") && cases.containsKey(k.substring("lora_unet_".length(), k.indexOf('.')))) {
                    out.add(k, g.info(k).dtype(), g.info(k).shape(), g.bytes(k));
                }
            }
            out.write(file);
            LoraFile index = LoraFile.read(file, keys);
            assertEquals(cases.size(), index.modules().size());
            String summary = LoraSummary.describe(index);
            for (LoraFile.Module mod : index.modules()) {
                assertEquals(cases.get(mod.module()), mod.kind(), mod.module());
                assertEquals(!mod.module().startsWith("locont"), mod.biasKey() != null, mod.module());
            }
            for (String line : List.of("unet.locont_conv: locon tucker rank 2, core 3x3", "unet.fullb_lin: full diff + bias diff",
                    "unet.bias_conv: bias diff\n", "unet.lorab_lin: lora rank 2 + bias diff", "bias diffs: 3 module(s)")) {
                assertTrue(summary.contains(line), line + " in\n" + summary);
            }
            Adapters a = new Adapters(LoraComponent.UNET, layers);
            a.load(LoraFile.load(file, keys, m, DataType.FLOAT32), "style", 0.8);
            Map<String, NDArray> unfused = new HashMap<>();
            Map<String, NDArray> inputs = new HashMap<>();
            for (Map.Entry<String, AdaptableLayer> e : layers.entrySet()) {
                String name = e.getKey();
                boolean conv = name.endsWith("_conv");
                LoraAdapter mod = a.adapter("style").get(name);
                assertEquals(cases.get(name), mod.kind(), name);
                NDArray w = weights.get(name);
                NDArray b = biases.get(name);
                // 1. the weight and bias differences at 0.8 against numpy
                if (g.tensors().containsKey("expected." + name)) {
                    NDArray dw = Ops.mulScalar(g.load("expected." + name, m), 0.8);
                    assertTrue(maxAbs(mod.deltaWeight(), dw) <= 1e-5 * dw.abs().max().getFloat(), name + " dW " + maxAbs(mod.deltaWeight(), dw));
                    w = w.add(dw);
                } else {
                    assertEquals(false, mod.changesWeight(), name);
                }
                if (g.tensors().containsKey("expected_b." + name)) {
                    NDArray db = Ops.mulScalar(g.load("expected_b." + name, m), 0.8);
                    assertTrue(maxAbs(mod.deltaBias(), db) <= 1e-5 * db.abs().max().getFloat(), name + " db " + maxAbs(mod.deltaBias(), db));
                    b = b.add(db);
                } else {
                    assertEquals(null, mod.deltaBias(), name);
                }
                // 2. unfused forward = the layer op with W + 0.8 dW, b + 0.8 db
                NDArray x = m.randomNormal(conv ? new Shape(2, 3, 7, 7) : new Shape(2, 3, 6));
                int stride = name.startsWith("locont") ? 2 : 1;
                NDArray want = conv ? Conv2d.convolve(x, w, b, stride, 1) : Ops.linear(x, w, b);
                NDArray got = e.getValue().forward(x);
                assertEquals(want.getShape(), got.getShape(), name);
                assertTrue(maxAbs(got, want) <= 1e-5 * Math.max(1, want.abs().max().getFloat()), name + " unfused " + maxAbs(got, want));
                unfused.put(name, got);
                inputs.put(name, x);
            }
            // 3. fused == unfused; the bias arrays are replaced too, and unfuse restores both
            a.fuse();
            for (Map.Entry<String, AdaptableLayer> e : layers.entrySet()) {
                String name = e.getKey();
                NDArray y = e.getValue().forward(inputs.get(name));
                NDArray u = unfused.get(name);
                assertTrue(maxAbs(y, u) <= 1e-5 * Math.max(1, u.abs().max().getFloat()), name + " fused vs unfused " + maxAbs(y, u));
                assertEquals(!name.startsWith("locont"), e.getValue().bias() != biases.get(name), name + " bias fused");
                assertEquals(!name.startsWith("bias"), e.getValue().weight() != weights.get(name), name + " weight fused");
            }
            a.unfuse();
            for (Map.Entry<String, AdaptableLayer> e : layers.entrySet()) {
                assertTrue(e.getValue().weight() == weights.get(e.getKey()) && e.getValue().bias() == biases.get(e.getKey()),
                        e.getKey() + ": unfuse restores the original arrays");
            }
        }
    }
}
