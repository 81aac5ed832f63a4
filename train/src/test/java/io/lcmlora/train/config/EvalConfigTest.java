package io.lcmlora.train.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lcmlora.schedule.SchedulerKind;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class EvalConfigTest {
    static final Path CONFIGS = Path.of(System.getProperty("golden.dir")).getParent().getParent().resolve("configs");

    static final String MINIMAL = """
            models: [{name: base, path: m}]
            prompts: p.jsonl
            settings:
              - {name: lcm, scheduler: lcm, steps: [1, 2, 4, 8], adapters: [lora]}
              - {name: ddim, scheduler: ddim, steps: 25, guidance: [5, 7.5]}
            adapters: [{name: lora, file: l.safetensors}]
            """;

    private static ConfigException fails(String yaml) {
        return assertThrows(ConfigException.class, () -> EvalConfig.parse(yaml).requireRunnable());
    }

    @Test
    void sdxlExampleBindsAndExpands() throws Exception {
        EvalConfig c = EvalConfig.load(CONFIGS.resolve("eval-sdxl-lcm-lora.yaml"), List.of()).requireRunnable();
        assertEquals(1, c.models().size());
        assertEquals(io.lcmlora.engine.Precision.FP16, c.precision());
        assertEquals("gpu", c.device());
        assertEquals(2048, c.features().dims());
        assertEquals(List.of(1, 2, 4, 8), c.settings().get(0).steps());
        assertEquals(List.of(1.0), c.settings().get(0).guidance());
        assertEquals(List.of(5.0), c.settings().get(1).guidance());
        assertEquals(1.0, c.adapters().get(0).weight());
        assertNull(c.negativePrompt());
        // --set reaches top-level keys and sections
        EvalConfig o = EvalConfig.load(CONFIGS.resolve("eval-sdxl-lcm-lora.yaml"),
                List.of("output_dir=runs/x", "features.preprocessing=clean-fid", "seeds=[3, 9]"));
        assertEquals("runs/x", o.outputDir());
        assertEquals("clean-fid", o.features().preprocessing());
        assertEquals(List.of(3L, 9L), o.seeds());
    }

    @Test
    void tinyExampleBinds() throws Exception {
        EvalConfig c = EvalConfig.load(CONFIGS.resolve("eval-tiny.yaml"), List.of()).requireRunnable();
        assertEquals("testdata/tiny-sdxl", c.models().get(0).path());
        assertEquals("pixels", c.features().type());
        assertEquals(List.of(0L, 100L), c.seeds());
        assertEquals(io.lcmlora.engine.Precision.FP32, c.precision());
        assertEquals(List.of("tiny-lora"), c.settings().get(0).adapters());
        assertEquals(List.of(), c.settings().get(1).adapters());
    }

    @Test
    void listsOfRecordsTakeDefaultsAndNameTheirEntries() {
        EvalConfig c = EvalConfig.parse(MINIMAL).requireRunnable();
        EvalConfig.SettingSpec lcm = c.settings().get(0);
        assertEquals(SchedulerKind.LCM, lcm.scheduler());
        assertNull(lcm.model());
        assertEquals(List.of(1.0), lcm.guidance()); // lcm default: no CFG
        assertEquals(List.of(25), c.settings().get(1).steps()); // a scalar is a list of one
        assertEquals(1.0, c.adapters().get(0).weight());
        assertEquals("lcm-4steps", lcm.expandedName(4, 1.0));
        assertEquals("lcm", lcm.family(1.0));
        EvalConfig.SettingSpec ddim = c.settings().get(1);
        assertEquals("ddim-g7.5", ddim.expandedName(25, 7.5));
        assertEquals("ddim-g5", ddim.family(5.0));
        // the defaults of keys left out
        assertEquals(EvalConfig.defaults().features(), c.features());
        assertEquals(List.of(0L), c.seeds());
        assertEquals(c, EvalConfig.parse(c.toYaml()));
    }

    @Test
    void errorsNameTheKey() {
        ConfigException typo = fails(MINIMAL.replace("adapters: [lora]}", "adaptors: [lora]}"));
        assertEquals("settings[0].adaptors", typo.key());
        assertTrue(typo.getMessage().contains("did you mean 'settings[0].adapters'"), typo.getMessage());
        assertEquals("settings[1].scheduler", fails(MINIMAL.replace("scheduler: ddim", "scheduler: heun")).key());
        assertEquals("settings[0].steps", fails(MINIMAL.replace("steps: [1, 2, 4, 8]", "steps: [0]")).key());
        assertEquals("settings[0].adapters", fails(MINIMAL.replace("adapters: [lora]}", "adapters: [lcm]}")).key());
        assertEquals("settings[0].name", fails(MINIMAL.replace("name: lcm,", "name: 'a/b',")).key());
        assertEquals("settings[1].steps", fails(MINIMAL.replace("steps: 25, ", "")).key());
        assertEquals("models", fails(MINIMAL.replace("models: [{name: base, path: m}]", "models: []")).key());
        assertEquals("prompts", fails(MINIMAL.replace("prompts: p.jsonl", "")).key());
        assertEquals("settings[0].model", fails(MINIMAL.replace("models: [{name: base, path: m}]",
                "models: [{name: a, path: m}, {name: b, path: n}]")).key());
        assertEquals("seeds", fails(MINIMAL + "seeds: [0, 1]\nimages_per_prompt: 2\n").key());
        assertEquals("settings", fails(MINIMAL.replace("settings:\n", "settings:\n  - {name: lcm-2steps, scheduler: lcm, steps: 3}\n"
                + "  - {name: lcm-2steps, scheduler: ddim, steps: 3}\n")).key());
        assertEquals("settings[0].timesteps",
                fails(MINIMAL.replace("steps: [1, 2, 4, 8], adapters", "steps: [2], timesteps: [999, 999], adapters")).key());
        assertEquals("precision", fails(MINIMAL + "precision: fp8\n").key());
        assertEquals("device", fails(MINIMAL + "device: tpu\n").key());
        assertEquals("bootstrap.level", fails(MINIMAL + "bootstrap: {level: 1.0}\n").key());
        assertEquals("bootstrap.resamples", fails(MINIMAL + "bootstrap: {resamples: -1}\n").key());
        assertEquals("clip_score.text", fails(MINIMAL + "clip_score: {vision: v}\n").key());
        assertEquals("clip_score.visoin", fails(MINIMAL + "clip_score: {visoin: v, text: t}\n").key());
    }

    @Test
    void clipScoreAndBootstrapBlocks() {
        EvalConfig c = EvalConfig.parse(MINIMAL).requireRunnable();
        assertNull(c.clipScore());
        assertEquals(new EvalConfig.BootstrapConfig(200, 0, 0.9), c.bootstrap());
        EvalConfig d = EvalConfig.parse(MINIMAL + "clip_score: {vision: ip/image_encoder, text: sdxl/text_encoder_2, "
                + "tokenizer: sdxl/tokenizer_2}\nbootstrap: {resamples: 50, seed: 3}\n");
        assertEquals(new EvalConfig.ClipScoreConfig("ip/image_encoder", "sdxl/text_encoder_2", "sdxl/tokenizer_2", 16),
                d.clipScore());
        assertEquals(new EvalConfig.BootstrapConfig(50, 3, 0.9), d.bootstrap());
        assertEquals(d, EvalConfig.parse(d.toYaml()));
    }
    @Test
    void fewStepSamplerSettingsBindAndBadOptionsNameTheirKey() {
        EvalConfig c = EvalConfig.parse("""
                models: [{name: base, path: m}]
                prompts: p.jsonl
                settings:
                  - {name: tcd, scheduler: tcd, steps: 4, eta: 0.5}
                  - {name: lightning, scheduler: euler, steps: 4, spacing: trailing}
                  - {name: dmd2, scheduler: lcm, steps: 4, timesteps: [999, 749, 499, 249]}
                """).requireRunnable();
        assertEquals(SchedulerKind.TCD, c.settings().get(0).scheduler());
        assertEquals(0.5, c.settings().get(0).sampler(4).etaOrDefault());
        assertEquals(1.0, c.settings().get(0).guidance().get(0), "few-step samplers default to no CFG");
        assertEquals(io.lcmlora.schedule.SchedulerConfig.TimestepSpacing.TRAILING, c.settings().get(1).sampler(4).spacing());
        assertEquals(4, c.settings().get(2).sampler(4).timesteps().length);
        String head = "models: [{name: base, path: m}]\nprompts: p.jsonl\nsettings:\n  - ";
        assertTrue(fails(head + "{name: a, scheduler: euler, steps: 4, eta: 0.3}").key().endsWith("eta"));
        assertTrue(fails(head + "{name: a, scheduler: tcd, steps: 4, eta: 1.5}").key().endsWith("eta"));
        assertTrue(fails(head + "{name: a, scheduler: lcm, steps: 4, spacing: trailing}").key().endsWith("spacing"));
        assertTrue(fails(head + "{name: a, scheduler: euler, steps: 4, spacing: sideways}").key().endsWith("spacing"));
        assertTrue(fails(head + "{name: a, scheduler: ddim, steps: 2, timesteps: [999, 499]}").key().endsWith("timesteps"));
    }
}
