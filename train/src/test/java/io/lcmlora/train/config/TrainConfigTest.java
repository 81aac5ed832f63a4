package io.lcmlora.train.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class TrainConfigTest {
    static final Path CONFIGS = Path.of(System.getProperty("golden.dir")).getParent().getParent().resolve("configs");

    private static ConfigException fails(String yaml, String... sets) {
        return assertThrows(ConfigException.class, () -> TrainConfig.parse(yaml, List.of(sets)));
    }

    @Test
    void referenceRecipeFileMatchesTheRecordDefaultsAndTheReadme() throws Exception {
        TrainConfig c = TrainConfig.load(CONFIGS.resolve("sdxl-lcm-lora.yaml"), List.of());
        TrainConfig d = TrainConfig.defaults();
        // Only the paths differ from the built-in defaults.
        assertEquals(d.lora(), c.lora());
        assertEquals(d.distill(), c.distill());
        assertEquals(d.optim(), c.optim());
        assertEquals(d.precision(), c.precision());
        assertEquals(d.checkpointing(), c.checkpointing());
        assertEquals(d.validation(), c.validation());
        assertEquals(d.seed(), c.seed());
        assertEquals(new DataConfig(d.data().source(), List.of("data/cc12m"), 1024, DataConfig.Crop.RANDOM, false, true,
                DataConfig.Interpolation.BILINEAR, false, 8, DataConfig.EmptyCaptions.USE), c.data());
        // The README_sdxl.md LCM-LoRA command.
        assertEquals(64, c.lora().rank());
        assertEquals(1.0, c.lora().scale());
        assertEquals(14, c.lora().targetModules().size());
        assertEquals(1024, c.data().resolution());
        assertEquals(DistillConfig.Loss.HUBER, c.distill().loss());
        assertEquals(1e-4, c.optim().learningRate());
        assertEquals(0.0, c.optim().weightDecay());
        assertEquals(12, c.distill().trainBatchSize());
        assertEquals(1000, c.distill().maxTrainSteps());
        assertEquals(3.0, c.distill().wMin());
        assertEquals(15.0, c.distill().wMax());
        assertEquals(453645634L, c.seed());
        assertEquals("models/sdxl-vae-fp16-fix", c.model().vae());
        c.requireRunnable();
    }

    @Test
    void toYamlRoundTrips() throws Exception {
        for (TrainConfig c : List.of(TrainConfig.defaults(),
                TrainConfig.load(CONFIGS.resolve("sdxl-lcm-lora.yaml"), List.of()),
                TrainConfig.load(CONFIGS.resolve("tiny.yaml"), List.of("optim.learning_rate=3.3e-7", "seed=12345678901")))) {
            String yaml = c.toYaml();
            assertEquals(c, TrainConfig.parse(yaml), yaml);
            assertEquals(yaml, TrainConfig.parse(yaml).toYaml());
        }
        String y = TrainConfig.defaults().toYaml();
        assertTrue(y.contains("  loss: huber\n"), y);
        assertTrue(y.contains("  guidance_convention: lcm\n"), y);
        assertTrue(y.contains("  text_encoder_2: null\n"), y);
    }

    @Test
    void tinyConfigBindsAndIsRunnable() throws Exception {
        TrainConfig t = TrainConfig.load(CONFIGS.resolve("tiny.yaml"), List.of());
        assertEquals(4, t.lora().rank());
        assertEquals(64, t.data().resolution());
        assertEquals("cpu", t.precision().device());
        assertEquals(io.lcmlora.engine.Precision.FP32, t.precision().weightsDtype());
        assertEquals(Path.of("testdata/golden/text_encoders/text_encoder_2"), t.model().component("text_encoder_2"));
        t.requireRunnable();
        ConfigException e = assertThrows(ConfigException.class, () -> t.model().component("scheduler"));
        assertEquals("model.path", e.key());
    }

    @Test
    void emptyDocumentIsTheDefaultsButNotRunnable() {
        assertEquals(TrainConfig.defaults(), TrainConfig.parse(""));
        assertEquals(TrainConfig.defaults(), TrainConfig.parse("# nothing\n"));
        assertEquals("model.path", assertThrows(ConfigException.class, () -> TrainConfig.defaults().requireRunnable()).key());
    }

    @Test
    void unknownKeysNameTheDottedKeyAndSuggestTheClosest() {
        ConfigException e = fails("lora:\n  rnak: 4\n");
        assertEquals("lora.rnak", e.key());
        assertTrue(e.getMessage().contains("did you mean 'lora.rank'?"), e.getMessage());

        e = fails("optim:\n  learnig_rate: 0.1\n");
        assertTrue(e.getMessage().contains("'optim.learning_rate'"), e.getMessage());

        e = fails("rank: 4\n"); // a key in the wrong section
        assertEquals("rank", e.key());
        assertTrue(e.getMessage().contains("did you mean 'lora.rank'?"), e.getMessage());

        e = fails("lora:\n  zzzzzzzzzz: 1\n");
        assertTrue(e.getMessage().contains("valid keys here: rank, alpha"), e.getMessage());

        e = fails("", "lroa.rank=3");
        assertEquals("lroa", e.key());
        assertTrue(e.getMessage().contains("'lora'"), e.getMessage());
    }

    @Test
    void outOfRangeAndWrongTypesNameTheKeyAndTheRange() {
        ConfigException e = fails("lora: {rank: 0}");
        assertEquals("lora.rank", e.key());
        assertTrue(e.getMessage().contains("[1, 1024]"), e.getMessage());

        e = fails("lora: {rank: abc}");
        assertEquals("lora.rank", e.key());
        assertTrue(e.getMessage().contains("expected an integer, got string 'abc'"), e.getMessage());

        e = fails("lora: {rank: 4.5}");
        assertTrue(e.getMessage().contains("expected an integer"), e.getMessage());

        e = fails("", "optim.beta2=1.0");
        assertEquals("optim.beta2", e.key());
        assertTrue(e.getMessage().contains("[0.0, 1.0)"), e.getMessage());

        e = fails("", "distill.loss=mse");
        assertEquals("distill.loss", e.key());
        assertTrue(e.getMessage().contains("huber|l2"), e.getMessage());

        e = fails("distill: {w_min: 8, w_max: 4}");
        assertEquals("distill.w_max", e.key());

        e = fails("data: {resolution: 100}");
        assertEquals("data.resolution", e.key());
        assertTrue(e.getMessage().contains("multiple of 8"), e.getMessage());

        e = fails("lora: {rank: null}");
        assertTrue(e.getMessage().contains("must not be null"), e.getMessage());

        e = fails("lora: 5");
        assertEquals("lora", e.key());
        assertTrue(e.getMessage().contains("expected a mapping"), e.getMessage());

        e = fails("", "lora=5");
        assertTrue(e.getMessage().contains("is a section"), e.getMessage());

        e = fails("", "seed.x=5");
        assertEquals("seed", e.key());

        e = fails("validation: {prompts: [a, '']}");
        assertEquals("validation.prompts", e.key());
        e = fails("validation: {scheduler: euler, eta: 0.3}");
        assertEquals("validation.eta", e.key());
        e = fails("validation: {scheduler: lcm, steps: 2, timesteps: [999, 499, 249]}");
        assertEquals("validation.timesteps", e.key());
    }

    @Test
    void validationPicksASampler() {
        ValidationConfig v = TrainConfig.parse("validation: {scheduler: tcd, eta: 0.4, steps: 4}\n").validation();
        assertEquals(new io.lcmlora.schedule.SamplerOptions(io.lcmlora.schedule.SchedulerKind.TCD, 4, null, null, 0.4), v.sampler());
        assertEquals(io.lcmlora.schedule.SchedulerKind.LCM, ValidationConfig.defaults().sampler().kind());
    }

    @Test
    void bf16IsAWeightsDtypeButTheLoraMastersStayFp32() {
        TrainConfig c = TrainConfig.parse("model: {vae: some/vae}\n", List.of("precision.weights_dtype=bf16",
                "precision.device=gpu:1"));
        assertEquals(io.lcmlora.engine.Precision.BF16, c.precision().weightsDtype());
        assertEquals(new io.lcmlora.engine.DeviceSpec(io.lcmlora.engine.DeviceSpec.Kind.GPU, 1), c.precision().deviceSpec());
        ConfigException e = fails("", "precision.device=tpu");
        assertEquals("precision.device", e.key());
        assertTrue(e.getMessage().contains("auto, cpu, gpu or gpu:N"), e.getMessage());
        e = fails("", "precision.lora_dtype=fp16");
        assertEquals("precision.lora_dtype", e.key());
        assertTrue(e.getMessage().contains("fp32"), e.getMessage());
    }

    @Test
    void overridesAreYamlScalars() {
        TrainConfig c = TrainConfig.parse("model: {vae: some/vae}\n", List.of("optim.learning_rate=3e-5",
                "validation.prompts=[a cat, 'b: c']", "model.vae=null", "data.paths=one.tar", "distill.loss=L2",
                "data.random_flip=true", "seed=7"));
        assertEquals(3e-5, c.optim().learningRate());
        assertEquals(List.of("a cat", "b: c"), c.validation().prompts());
        assertNull(c.model().vae());
        assertEquals(List.of("one.tar"), c.data().paths());
        assertEquals(DistillConfig.Loss.L2, c.distill().loss());
        assertTrue(c.data().randomFlip());
        assertEquals(7, c.seed());
        assertThrows(IllegalArgumentException.class, () -> TrainConfig.parse("", List.of("no-equals-sign")));
    }

    @Test
    void onlyPlainYamlIsAccepted() {
        assertThrows(RuntimeException.class, () -> TrainConfig.parse("seed: !!java.io.File [x]\n"));
        assertThrows(RuntimeException.class, () -> TrainConfig.parse("seed: 1\nseed: 2\n"));
        assertThrows(ConfigException.class, () -> TrainConfig.parse("- a\n- b\n"));
    }

    @Test
    void levenshteinDistance() {
        assertEquals(0, ConfigBinder.levenshtein("rank", "rank"));
        assertEquals(2, ConfigBinder.levenshtein("rnak", "rank"));
        assertEquals(3, ConfigBinder.levenshtein("kitten", "sitting"));
        assertEquals(4, ConfigBinder.levenshtein("", "abcd"));
    }
}
