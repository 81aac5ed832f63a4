package io.lcmlora.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.lcmlora.io.DType;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.io.SafeTensorsWriter;
import io.lcmlora.lora.AdapterKind;
import io.lcmlora.lora.Adapters;
import io.lcmlora.lora.LoraComponent;
import io.lcmlora.lora.LoraFile;
import io.lcmlora.lora.LoraFuse;
import io.lcmlora.lora.LoraKeyMap;
import io.lcmlora.model.unet.UNet2DConditionModel;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Several adapters of different kinds at once on the tiny SDXL UNet, the paper's LCM-LoRA 1.0 + a style LoRA 0.8
 * with the style a LyCORIS file: a plain kohya LoRA at 1.0, a LoHa (linear and conv) with a bias difference at
 * 0.8, a LoCon Tucker conv at 0.6. Unfused (runtime), fused in memory and fused into a folder by {@code lora fuse}
 * give the same UNet output within 1e-5 of its largest magnitude, far from the base model's; every module runs
 * unfused as a delta of its layer and fused in its weight or bias; unfuse puts the original arrays back.
 */
class MixedAdapterKindsTest {
    static final Path GOLDEN = Path.of(System.getProperty("golden.dir"));
    static final String TO_Q = "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_q"; // Linear [32, 32]
    static final String CONV1 = "lora_unet_down_blocks_0_resnets_0_conv1"; // Conv2d [16, 16, 3, 3]
    static final String CONV2 = "lora_unet_down_blocks_0_resnets_0_conv2"; // Conv2d [16, 16, 3, 3]
    static final String TEMB = "lora_unet_down_blocks_0_resnets_0_time_emb_proj"; // Linear [16, 64] with bias

    static float[] normal(Random r, int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (scale * r.nextGaussian());
        }
        return v;
    }

    static double maxAbs(NDArray a, NDArray b) {
        return a.sub(b).abs().max().getFloat();
    }

    @Test
    void lcmLoraPlusLohaPlusTuckerLoconUnfusedEqualsFused(@TempDir Path tmp) throws Exception {
        Path model = TinySdxlFolder.create(tmp);
        Path lcm = GOLDEN.resolve("lora_formats/lora_kohya_alpha_half.safetensors");
        Random r = new Random(42);
        Path loha = tmp.resolve("style_loha.safetensors");
        new SafeTensorsWriter()
                .addFloats(TO_Q + ".hada_w1_a", new long[] {32, 2}, normal(r, 64, 0.3), DType.F32)
                .addFloats(TO_Q + ".hada_w1_b", new long[] {2, 32}, normal(r, 64, 0.3), DType.F32)
                .addFloats(TO_Q + ".hada_w2_a", new long[] {32, 2}, normal(r, 64, 0.3), DType.F32)
                .addFloats(TO_Q + ".hada_w2_b", new long[] {2, 32}, normal(r, 64, 0.3), DType.F32)
                .addFloats(TO_Q + ".alpha", new long[0], new float[] {1}, DType.F32)
                .addFloats(CONV2 + ".hada_w1_a", new long[] {16, 2}, normal(r, 32, 0.3), DType.F32)
                .addFloats(CONV2 + ".hada_w1_b", new long[] {2, 144}, normal(r, 288, 0.3), DType.F32)
                .addFloats(CONV2 + ".hada_w2_a", new long[] {16, 2}, normal(r, 32, 0.3), DType.F32)
                .addFloats(CONV2 + ".hada_w2_b", new long[] {2, 144}, normal(r, 288, 0.3), DType.F32)
                .addFloats(TEMB + ".diff_b", new long[] {16}, normal(r, 16, 0.5), DType.F32)
                .write(loha);
        Path locon = tmp.resolve("locon_tucker.safetensors");
        new SafeTensorsWriter()
                .addFloats(CONV1 + ".lora_down.weight", new long[] {2, 16, 1, 1}, normal(r, 32, 0.3), DType.F32)
                .addFloats(CONV1 + ".lora_mid.weight", new long[] {2, 2, 3, 3}, normal(r, 36, 0.3), DType.F32)
                .addFloats(CONV1 + ".lora_up.weight", new long[] {16, 2, 1, 1}, normal(r, 32, 0.3), DType.F32)
                .addFloats(CONV1 + ".alpha", new long[0], new float[] {2}, DType.F32)
                .write(locon);
        List<LoraFuse.Spec> specs = List.of(new LoraFuse.Spec(lcm, 1.0), new LoraFuse.Spec(loha, 0.8), new LoraFuse.Spec(locon, 0.6));
        try (NDManager m = NDManager.newBaseManager();
                SafeTensorsFile cases = SafeTensorsFile.open(GOLDEN.resolve("unet/cases.safetensors"))) {
            UNet2DConditionModel unet = UNet2DConditionModel.load(model.resolve("unet"), null, m, DataType.FLOAT32);
            LoraKeyMap keys = LoraKeyMap.of(unet);
            Adapters a = new Adapters(LoraComponent.UNET, unet.layers());
            List<String> names = List.of("lcm", "style", "locon");
            for (int i = 0; i < specs.size(); i++) {
                a.load(LoraFile.load(specs.get(i).file(), keys, m, DataType.FLOAT32), names.get(i), specs.get(i).weight());
            }
            assertEquals(AdapterKind.LOHA, a.adapter("style").get("down_blocks.0.resnets.0.conv2").kind());
            assertEquals(AdapterKind.BIAS_DIFF, a.adapter("style").get("down_blocks.0.resnets.0.time_emb_proj").kind());
            assertEquals(AdapterKind.LOCON_TUCKER, a.adapter("locon").get("down_blocks.0.resnets.0.conv1").kind());
            NDArray unfused = LoraFuseTest.forward(unet, cases, m);
            double tol = 1e-5 * Math.max(1, unfused.abs().max().getFloat());
            // the adapters change the output (the base model is far away), and every module runs as a delta of its layer
            a.disable();
            double fromBase = maxAbs(LoraFuseTest.forward(unet, cases, m), unfused);
            a.enable();
            assertTrue(fromBase > 100 * tol, "adapters vs base " + fromBase);
            for (String name : names) {
                a.adapter(name).values().forEach(mod -> assertTrue(mod.layer().deltas().contains(mod), name + " " + mod));
            }
            // fused in memory, in load order
            Map<String, NDArray> weights = new java.util.HashMap<>();
            Map<String, NDArray> biases = new java.util.HashMap<>();
            unet.layers().forEach((k, l) -> {
                weights.put(k, l.weight());
                biases.put(k, l.bias());
            });
            a.fuse();
            // every module of the three is in the weights now (the bias-only one in its bias), and no delta runs
            for (String name : names) {
                a.adapter(name).forEach((k, mod) -> {
                    assertTrue(mod.changesWeight() ? mod.layer().weight() != weights.get(k) : mod.layer().bias() != biases.get(k), k);
                    assertTrue(mod.layer().deltas().isEmpty(), k);
                });
            }
            double fusedErr = maxAbs(LoraFuseTest.forward(unet, cases, m), unfused);
            assertTrue(fusedErr <= tol, "fused vs unfused " + fusedErr + " > " + tol);
            a.unfuse();
            unet.layers().forEach((k, l) -> assertTrue(l.weight() == weights.get(k) && l.bias() == biases.get(k), k + " unfused"));
            // lora fuse: the written folder's UNet (weights and the diff_b bias)
            Path out = tmp.resolve("fused");
            Map<String, Integer> n = LoraFuse.fuse(model, specs, out, null);
            assertEquals(258 + 3 + 1, n.get("unet"), n.toString());
            UNet2DConditionModel written = UNet2DConditionModel.load(out.resolve("unet"), null, m, DataType.FLOAT32);
            double fileErr = maxAbs(LoraFuseTest.forward(written, cases, m), unfused);
            assertTrue(fileErr <= tol, "lora fuse folder vs unfused " + fileErr + " > " + tol);
        }
    }
}
