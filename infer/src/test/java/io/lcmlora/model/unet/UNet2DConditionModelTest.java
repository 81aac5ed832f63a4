package io.lcmlora.model.unet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.lcmlora.io.SafeTensorsFile;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Parity with diffusers 0.25.1 on the golden tiny SDXL-shaped UNet (testdata/golden/unet). */
class UNet2DConditionModelTest {
    static final Path DIR = Path.of(System.getProperty("golden.dir"), "unet");
    static NDManager manager;
    static UNet2DConditionModel unet;
    static SafeTensorsFile cases;

    @BeforeAll
    static void load() throws Exception {
        manager = NDManager.newBaseManager();
        unet = UNet2DConditionModel.load(DIR, null, manager, DataType.FLOAT32);
        cases = SafeTensorsFile.open(DIR.resolve("cases.safetensors"));
    }

    @AfterAll
    static void close() throws Exception {
        cases.close();
        manager.close();
    }

    static double maxAbs(NDArray a, NDArray b) {
        assertArrayEquals(b.getShape().getShape(), a.getShape().getShape());
        return a.sub(b).abs().max().getFloat();
    }

    static double[] timesteps(String name) throws Exception {
        long[] t = cases.longs(name);
        double[] d = new double[t.length];
        for (int i = 0; i < t.length; i++) {
            d[i] = t[i];
        }
        return d;
    }

    @Test
    void configFromJsonEqualsTinyPreset() throws Exception {
        assertEquals(UNet2DConditionConfig.tiny(), UNet2DConditionConfig.read(DIR.resolve("config.json")));
    }

    @Test
    void caseAPerSampleTimestepsMatchesEveryTap() throws Exception {
        try (NDManager m = manager.newSubManager()) {
            Map<String, NDArray> taps = new LinkedHashMap<>();
            NDArray out = unet.forward(new UNet2DConditionModel.Inputs(cases.load("a_sample", m), timesteps("a_timestep"),
                    cases.load("a_encoder_hidden_states", m), cases.load("a_text_embeds", m), cases.load("a_time_ids", m)), taps::put);
            for (var e : taps.entrySet()) {
                String key = "a_dbg_" + e.getKey();
                assertTrue(cases.contains(key), key);
                double err = maxAbs(e.getValue(), cases.load(key, m));
                assertTrue(err <= 1e-4, key + " max abs " + err);
            }
            assertEquals(14, taps.size());
            double err = maxAbs(out, cases.load("a_out", m));
            System.out.println("UNet golden case a: max abs " + err);
            assertTrue(err <= 1e-4, "a_out max abs " + err);
        }
    }

    @Test
    void caseBScalarTimestepCfgBatch() throws Exception {
        try (NDManager m = manager.newSubManager()) {
            NDArray out = unet.forward(new UNet2DConditionModel.Inputs(cases.load("b_sample", m), timesteps("b_timestep"),
                    cases.load("b_encoder_hidden_states", m), cases.load("b_text_embeds", m), cases.load("b_time_ids", m)));
            double err = maxAbs(out, cases.load("b_out", m));
            System.out.println("UNet golden case b: max abs " + err);
            assertTrue(err <= 1e-4, "b_out max abs " + err);
            float g = cases.floats("b_cfg_guidance_scale")[0];
            NDArray uncond = out.get(0).expandDims(0);
            NDArray cond = out.get(1).expandDims(0);
            NDArray cfg = uncond.add(cond.sub(uncond).mul(g));
            assertTrue(maxAbs(cfg, cases.load("b_cfg_noise_pred", m)) <= 1e-4);
        }
    }

    @Test
    void sdxlPresetHasTheReferenceParameterCount() {
        try (NDManager m = NDManager.newBaseManager()) {
            var vb = io.lcmlora.nn.Weights.shapesOnly(m);
            UNet2DConditionModel sdxl = new UNet2DConditionModel(vb, UNet2DConditionConfig.sdxl());
            assertEquals(2_567_463_684L, sdxl.parameterCount());
        }
    }
}
