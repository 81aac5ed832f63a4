package io.lcmlora.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.model.unet.UNet2DConditionConfig;
import io.lcmlora.model.unet.UNet2DConditionModel;
import io.lcmlora.nn.AdaptableLayer;
import io.lcmlora.nn.Weights;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The five golden LoRA files on the golden tiny UNet against diffusers 0.25.1 + peft 0.7.1
 * ({@code lora_formats/expected.safetensors}): unfused, fused, unfused again, alpha = r/2, adapter weights.
 */
class LoraGoldenTest {
    static final Path GOLDEN = Path.of(System.getProperty("golden.dir"));
    static final Path DIR = GOLDEN.resolve("lora_formats");
    static final double TOL = 1e-4;
    static final List<String> ALPHA_RANK_FILES = List.of("lora_peft.safetensors", "lora_diffusers_legacy.safetensors",
            "lora_kohya.safetensors", "lora_kohya_sgm.safetensors");
    static NDManager manager;
    static UNet2DConditionModel unet;
    static LoraKeyMap keyMap;
    static SafeTensorsFile expected;
    static UNet2DConditionModel.Inputs inputs;

    @BeforeAll
    static void load() throws Exception {
        manager = NDManager.newBaseManager();
        unet = UNet2DConditionModel.load(GOLDEN.resolve("unet"), null, manager, DataType.FLOAT32);
        keyMap = LoraKeyMap.of(unet);
        expected = SafeTensorsFile.open(DIR.resolve("expected.safetensors"));
        long[] t = expected.longs("timestep");
        inputs = new UNet2DConditionModel.Inputs(expected.load("sample", manager), new double[] {t[0], t[1]},
                expected.load("encoder_hidden_states", manager), expected.load("text_embeds", manager),
                expected.load("time_ids", manager));
    }

    @AfterAll
    static void close() throws Exception {
        expected.close();
        manager.close();
    }

    /** The UNet output at the golden inputs in the current adapter state. */
    static NDArray forward() {
        return unet.forward(inputs);
    }

    /** Max |out - expected[name]|. */
    static double error(NDArray out, String name) throws Exception {
        try (NDManager m = manager.newSubManager()) {
            NDArray want = expected.load(name, m);
            assertArrayEquals(want.getShape().getShape(), out.getShape().getShape());
            return out.sub(want).abs().max().getFloat();
        }
    }

    static double error(String name) throws Exception {
        try (NDManager m = manager.newSubManager()) {
            NDArray out = forward();
            out.attach(m);
            return error(out, name);
        }
    }

    static LoraWeights weights(String file) throws Exception {
        return LoraFile.load(DIR.resolve(file), keyMap, manager, DataType.FLOAT32);
    }

    @Test
    void peftFileUnfusedFusedUnfusedAgainDisabledRemoved() throws Exception {
        Map<String, float[]> before = new LinkedHashMap<>();
        Map<String, NDArray> originals = new LinkedHashMap<>();
        unet.layers().forEach((p, l) -> {
            before.put(p, l.weight().toFloatArray());
            originals.put(p, l.weight());
        });
        assertTrue(error("out_base") <= TOL);
        assertTrue(expected.load("out_lora_unfused", manager).sub(expected.load("out_base", manager)).abs().max().getFloat()
                > 100 * TOL, "the LoRA changes the output far beyond the tolerance");
        Adapters adapters = new Adapters(LoraComponent.UNET, unet.layers());
        adapters.load(weights("lora_peft.safetensors"), "lora", 1.0);
        double unfused = error("out_lora_unfused");
        adapters.fuse();
        assertTrue(unet.layers().values().stream().allMatch(l -> l.deltas().isEmpty()), "fused adapters do not run unfused");
        NDArray out = forward();
        double fused = error(out, "out_lora_fused");
        double manual = error(out, "out_manual_merge");
        adapters.unfuse();
        double again = error("out_lora_unfused");
        adapters.disable();
        double disabled = error("out_base");
        adapters.enable();
        adapters.remove("lora");
        double removed = error("out_base");
        System.out.printf("LoRA golden lora_peft: unfused %.3g fused %.3g manual-merge %.3g unfused-again %.3g disabled %.3g "
                + "removed %.3g%n", unfused, fused, manual, again, disabled, removed);
        for (double e : new double[] {unfused, fused, manual, again, disabled, removed}) {
            assertTrue(e <= TOL, "max abs " + e);
        }
        unet.layers().forEach((p, l) -> {
            assertSame(originals.get(p), l.weight(), p);
            assertArrayEquals(before.get(p), l.weight().toFloatArray(), p);
            assertTrue(l.deltas().isEmpty(), p);
        });
    }

    /** The other conventions give the same modules, tensors and scales as the PEFT file, and the same output. */
    @Test
    void everyOtherFormatMatchesThePeftFileAndTheGoldenOutput() throws Exception {
        Map<String, LoraWeights.Entry> peft = new LinkedHashMap<>();
        weights("lora_peft.safetensors").entries().forEach(e -> peft.put(e.module(), e));
        for (String file : ALPHA_RANK_FILES.subList(1, ALPHA_RANK_FILES.size())) {
            LoraWeights w = weights(file);
            assertEquals(peft.keySet(), new HashSet<>(w.entries().stream().map(LoraWeights.Entry::module).toList()));
            for (LoraWeights.Entry e : w.entries()) {
                LoraWeights.Entry p = peft.get(e.module());
                assertArrayEquals(p.a().toFloatArray(), e.a().toFloatArray(), file + " " + e.module());
                assertArrayEquals(p.b().toFloatArray(), e.b().toFloatArray(), file + " " + e.module());
                assertEquals(1.0, e.scale(), file + " " + e.module());
            }
            Adapters adapters = new Adapters(LoraComponent.UNET, unet.layers());
            adapters.load(w, "lora", 1.0);
            double unfused = error("out_lora_unfused");
            adapters.remove("lora");
            System.out.printf("LoRA golden %s: unfused %.3g%n", file, unfused);
            assertTrue(unfused <= TOL, file + ": max abs " + unfused);
        }
    }

    @Test
    void alphaHalfFileScalesEveryDeltaByAHalf() throws Exception {
        LoraWeights w = weights("lora_kohya_alpha_half.safetensors");
        assertEquals(258, w.entries().size());
        w.entries().forEach(e -> assertEquals(0.5, e.scale(), e.module()));
        Adapters adapters = new Adapters(LoraComponent.UNET, unet.layers());
        adapters.load(w, "half", 1.0);
        try {
            double unfused = error("out_lora_alpha_half_unfused");
            adapters.fuse("half");
            NDArray out = forward();
            double fused = error(out, "out_lora_alpha_half_fused");
            double manual = error(out, "out_manual_merge_alpha_half");
            System.out.printf("LoRA golden alpha-half: unfused %.3g fused %.3g manual-merge %.3g%n", unfused, fused, manual);
            assertTrue(unfused <= TOL && fused <= TOL && manual <= TOL, unfused + " " + fused + " " + manual);
            assertThrows(LoraException.class, () -> adapters.setAdapterWeights(Map.of("half", 2.0)));
        } finally {
            adapters.remove("half");
        }
    }

    /** The paper's combination: two adapters with weights (the LCM one at 1.0, a "style" one at 0.8). */
    @Test
    void severalAdaptersWithWeights() throws Exception {
        Adapters adapters = new Adapters(LoraComponent.UNET, unet.layers());
        adapters.load(weights("lora_peft.safetensors"), "lcm", 1.0);
        adapters.load(weights("lora_kohya_alpha_half.safetensors"), "style", 0.8);
        try {
            // both files hold the same A/B: 1.0 * 1 + 0.8 * 0.5 = 1.4 times B@A
            NDArray both = forward();
            adapters.setAdapterWeights(Map.of("lcm", 1.4, "style", 0.0));
            double single = both.sub(forward()).abs().max().getFloat();
            adapters.setAdapterWeights(Map.of("lcm", 1.0, "style", 0.8));
            adapters.fuse("lcm", "style");
            double fusedBoth = both.sub(forward()).abs().max().getFloat();
            adapters.unfuse();
            // style alone at weight 2.0 (scale 2.0 * 0.5 = 1) is the golden alpha = r LoRA
            adapters.setActive(List.of("style"));
            adapters.setAdapterWeights(Map.of("style", 2.0));
            double styleOnly = error("out_lora_unfused");
            System.out.printf("LoRA two adapters: vs single at 1.4 %.3g, vs fused %.3g, style alone x2 %.3g%n", single,
                    fusedBoth, styleOnly);
            assertTrue(single <= TOL && fusedBoth <= TOL && styleOnly <= TOL);
            assertTrue(both.sub(expected.load("out_lora_unfused", manager)).abs().max().getFloat() > 10 * TOL,
                    "the 1.4x LoRA differs from the 1x one");
        } finally {
            adapters.remove("lcm");
            adapters.remove("style");
        }
    }

    @Test
    void exampleModuleTensorsAreTheFileTensors() throws Exception {
        float[] a = expected.floats("example_module_lora_A");
        float[] b = expected.floats("example_module_lora_B");
        for (String file : ALPHA_RANK_FILES) {
            LoraWeights.Entry e = weights(file).of(LoraComponent.UNET).stream()
                    .filter(x -> x.module().equals("down_blocks.0.downsamplers.0.conv")).findFirst().orElseThrow();
            assertArrayEquals(a, e.a().toFloatArray(), file);
            assertArrayEquals(b, e.b().toFloatArray(), file);
        }
    }

    /** The paper's 197M: rank 64 on the 14 LCM-LoRA targets of the SDXL UNet, from shapes alone. */
    @Test
    void sdxlRank64HasThePapersParameterCount() {
        try (NDManager m = NDManager.newBaseManager()) {
            UNet2DConditionModel sdxl = new UNet2DConditionModel(Weights.shapesOnly(m), UNet2DConditionConfig.sdxl());
            Map<String, AdaptableLayer> targets = LoraTargets.select(sdxl.layers(), LoraTargets.LCM_LORA);
            LoraTargets.Count c = LoraTargets.count(targets, 64);
            assertEquals(788, c.modules());
            assertEquals(196_751_360L, c.parameters());
            // every selected module also has a kohya SGM name (sd-scripts' layout of SDXL)
            LoraKeyMap map = LoraKeyMap.of(sdxl);
            targets.keySet().forEach(p -> assertEquals(new LoraKeyMap.Target(LoraComponent.UNET, p, LoraKeyMap.Role.A,
                    LoraFormat.KOHYA_SGM), map.resolve(map.keysFor(LoraFormat.KOHYA_SGM, LoraComponent.UNET, p).a())));
        }
    }
}
