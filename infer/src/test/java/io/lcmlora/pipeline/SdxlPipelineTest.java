package io.lcmlora.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.lcmlora.singlefile.SingleFileConfigs;
import io.lcmlora.schedule.SamplerOptions;
import io.lcmlora.schedule.SchedulerConfig;
import io.lcmlora.schedule.SchedulerKind;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pipeline end to end on the tiny SDXL folder (32x32 pixels = 8x8 latents). */
class SdxlPipelineTest {
    @TempDir
    static Path tmp;
    static SdxlModel model;
    static SdxlPipeline pipe;

    @BeforeAll
    static void load() throws Exception {
        model = SdxlModel.load(TinySdxlFolder.create(tmp), LoadOptions.cpu());
        pipe = new SdxlPipeline(model);
    }

    @AfterAll
    static void close() {
        pipe.close();
        model.close();
    }

    /** 2 LCM steps at 32x32 (tests that need 4 steps say so). */
    static GenerationRequest request(String prompt) {
        return GenerationRequest.of(prompt).withSize(32, 32).withSeed(7).withSteps(2);
    }

    /** A synthetic 32x32 input image (a colour gradient shifted by {@code phase}). */
    static BufferedImage gradient(int phase) {
        BufferedImage img = new BufferedImage(32, 32, BufferedImage.TYPE_3BYTE_BGR);
        for (int y = 0; y < 32; y++) {
            for (int x = 0; x < 32; x++) {
                img.setRGB(x, y, ((x * 8 + phase) & 0xFF) << 16 | ((y * 8) & 0xFF) << 8 | ((x + y + phase) * 4 & 0xFF));
            }
        }
        return img;
    }

    static int[] pixels(BufferedImage img) {
        return img.getRGB(0, 0, img.getWidth(), img.getHeight(), null, 0, img.getWidth());
    }

    @Test
    void sameSeedSamePixelsAndBytesOtherSeedDiffers() throws Exception {
        GeneratedImage a = pipe.generate(request("a red cat")).get(0);
        GeneratedImage b = pipe.generate(request("a red cat")).get(0);
        GeneratedImage c = pipe.generate(request("a red cat").withSeed(8)).get(0);
        assertArrayEquals(pixels(a.image()), pixels(b.image()));
        Path fa = tmp.resolve("a.png");
        Path fb = tmp.resolve("b.png");
        a.writePng(fa);
        b.writePng(fb);
        assertArrayEquals(Files.readAllBytes(fa), Files.readAllBytes(fb));
        assertTrue(ImageLevels.maxLevelDiff(a.image(), c.image()) > 0, "seed 8 must give another image than seed 7");
    }

    @Test
    void imagesOfABatchEqualTheirSeedsAlone() {
        List<GeneratedImage> batch = pipe.generate(request("a red cat").withImagesPerPrompt(2));
        GeneratedImage alone = pipe.generate(request("a red cat").withSeed(8)).get(0);
        assertEquals(2, batch.size());
        assertEquals(8, batch.get(1).seed());
        assertTrue(ImageLevels.maxLevelDiff(batch.get(0).image(), batch.get(1).image()) > 0);
        // batch size may change kernel summation order: allow one 8-bit level
        assertTrue(ImageLevels.maxLevelDiff(batch.get(1).image(), alone.image()) <= 1);
    }

    @Test
    void severalPromptsInOneBatchEqualEachPromptAlone() {
        // g = 3 so the batch has [uncond of every prompt; cond of every prompt] rows and the negative prompts matter
        GenerationRequest a = request("a red cat").withGuidance(3.0).withImagesPerPrompt(2);
        GenerationRequest b = request("a blue dog on a hill").withGuidance(3.0).withNegativePrompt("blurry").withSeed(40);
        GenerationRequest c = request("").withGuidance(3.0).withSeed(3).withImagesPerPrompt(2);
        List<GeneratedImage> batch = pipe.generate(List.of(a, b, c));
        List<GeneratedImage> alone = new ArrayList<>();
        for (GenerationRequest r : List.of(a, b, c)) {
            alone.addAll(pipe.generate(r));
        }
        assertEquals(5, batch.size());
        long[] seeds = {7, 8, 40, 3, 4};
        int[] index = {0, 1, 0, 0, 1};
        // Each image of the batch is its prompt's image generated alone. Not bit for bit on every CPU: the GEMM and
        // conv kernels block a batch of 10 rows differently from a batch of 2-4 (seen with libtorch 2.7.1's MKL on an
        // AMD EPYC with AVX-512: one channel value one level apart), so at most one 8-bit level, in at most 1 % of the
        // values; a wrong prompt, seed or guidance row changes most of them by many levels.
        int worst = 0;
        int differing = 0;
        for (int k = 0; k < 5; k++) {
            assertEquals(seeds[k], batch.get(k).seed());
            assertEquals(index[k], batch.get(k).index());
            assertEquals(alone.get(k).parameters(), batch.get(k).parameters());
            worst = Math.max(worst, ImageLevels.maxLevelDiff(batch.get(k).image(), alone.get(k).image()));
            differing += ImageLevels.differingLevels(batch.get(k).image(), alone.get(k).image());
        }
        int values = 5 * 3 * batch.get(0).image().getWidth() * batch.get(0).image().getHeight();
        assertTrue(worst <= 1, "an image of a 3-prompt batch must equal its prompt generated alone up to one level, "
                + "got " + worst + " levels");
        assertTrue(differing * 100 <= values, differing + " of " + values + " values differ by a level (at most 1 %)");
        assertTrue(ImageLevels.maxLevelDiff(batch.get(0).image(), batch.get(2).image()) > 0, "prompts must give different images");
        assertThrows(IllegalArgumentException.class, () -> pipe.generate(List.of(a, b.withGuidance(1.0))));
        assertThrows(IllegalArgumentException.class, () -> pipe.generate(List.of(a, b.withSize(64, 64))));
        assertThrows(IllegalArgumentException.class, () -> pipe.generate(List.of(a, b.withSteps(4))));
    }

    @Test
    void negativePromptMattersOnlyWithGuidanceAboveOne() {
        for (double g : new double[] {1.0}) {
            BufferedImage plain = pipe.generate(request("a red cat").withGuidance(g)).get(0).image();
            BufferedImage neg = pipe.generate(request("a red cat").withGuidance(g).withNegativePrompt("blurry")).get(0).image();
            assertArrayEquals(pixels(plain), pixels(neg), "g = " + g + " must ignore the negative prompt");
        }
        BufferedImage noCfg = pipe.generate(request("a red cat").withGuidance(1.0)).get(0).image();
        BufferedImage plain = pipe.generate(request("a red cat").withGuidance(8.0)).get(0).image();
        BufferedImage neg = pipe.generate(request("a red cat").withGuidance(8.0).withNegativePrompt("blurry")).get(0).image();
        assertTrue(ImageLevels.maxLevelDiff(plain, neg) > 0, "g = 8: the negative prompt must change the image");
        assertTrue(ImageLevels.maxLevelDiff(noCfg, plain) > 0, "g = 8 must differ from g = 1");
    }

    @Test
    void lcmFourStepsWritesPngWithSettings() throws Exception {
        GeneratedImage img = pipe.generate(request("a photo of a cat, caf\u00e9 \u732b").withSteps(4)).get(0);
        assertEquals(32, img.image().getWidth());
        Path f = tmp.resolve("out/lcm.png");
        img.writePng(f);
        Map<String, String> text = PngImages.readText(f);
        JsonObject p = JsonParser.parseString(text.get("parameters")).getAsJsonObject();
        assertEquals("a photo of a cat, caf\u00e9 \u732b", p.get("prompt").getAsString());
        assertEquals(7, p.get("seed").getAsLong());
        assertEquals(4, p.get("steps").getAsInt());
        assertEquals("[999,759,499,259]", p.get("timesteps").toString());
        assertEquals("lcm", p.get("scheduler").getAsString());
        assertEquals(1.0, p.get("guidance_scale").getAsDouble());
        assertTrue(p.get("model").getAsString().endsWith("tiny-sdxl"));
        assertEquals(0, p.getAsJsonArray("adapters").size());
        BufferedImage back = PngImages.read(f);
        assertArrayEquals(pixels(img.image()), pixels(back));
    }

    @Test
    void ddimAndCustomTimestepsRun() {
        GeneratedImage d = pipe.generate(request("a cat").withScheduler(SchedulerKind.DDIM, null).withSteps(3)).get(0);
        JsonObject p = JsonParser.parseString(d.parameters()).getAsJsonObject();
        assertEquals("[667,334,1]", p.get("timesteps").toString());
        GeneratedImage c = pipe.generate(request("a cat").withScheduler(SchedulerKind.LCM, new long[] {999, 499})).get(0);
        assertEquals("[999,499]", JsonParser.parseString(c.parameters()).getAsJsonObject().get("timesteps").toString());
        assertThrows(IllegalArgumentException.class,
                () -> pipe.generate(request("a cat").withScheduler(SchedulerKind.DDIM, new long[] {999, 499})));
    }

    @Test
    void eulerAndTcdRunAndRecordTheirOptions() {
        SamplerOptions euler = new SamplerOptions(SchedulerKind.EULER, 2, null, SchedulerConfig.TimestepSpacing.TRAILING, null);
        GeneratedImage e = pipe.generate(request("a cat").withSampler(euler)).get(0);
        JsonObject p = JsonParser.parseString(e.parameters()).getAsJsonObject();
        assertEquals("euler", p.get("scheduler").getAsString());
        assertEquals("trailing", p.get("spacing").getAsString());
        assertEquals("[999,499]", p.get("timesteps").toString());
        GeneratedImage t = pipe.generate(request("a cat").withSampler(new SamplerOptions(SchedulerKind.TCD, 2, null, null, 0.5)))
                .get(0);
        JsonObject q = JsonParser.parseString(t.parameters()).getAsJsonObject();
        assertEquals("tcd", q.get("scheduler").getAsString());
        assertEquals(0.5, q.get("eta").getAsDouble());
        assertEquals("[999,499]", q.get("timesteps").toString());
        GeneratedImage l = pipe.generate(request("a cat").withScheduler(SchedulerKind.LCM, new long[] {999, 499})).get(0);
        assertNotEquals(0, ImageLevels.maxLevelDiff(t.image(), l.image()), "TCD at gamma 0.5 differs from LCM on the same timesteps");
    }

    @Test
    void img2imgOverAGridOfStrengthsRunsOrFailsClearly() {
        BufferedImage init = gradient(0);
        List<String> failures = new ArrayList<>();
        int ran = 0;
        for (SchedulerKind kind : new SchedulerKind[] {SchedulerKind.LCM, SchedulerKind.DDIM}) {
            for (int steps : new int[] {1, 4}) {
                for (double s : new double[] {0.01, 0.05, 1.0}) {
                    GenerationRequest r = request("a blue cat").withScheduler(kind, null).withSteps(steps).withInitImage(init, s);
                    try {
                        GeneratedImage out = pipe.generate(r).get(0);
                        assertEquals(32, out.image().getHeight());
                        assertEquals(s, JsonParser.parseString(out.parameters()).getAsJsonObject().get("strength").getAsDouble());
                        ran++;
                    } catch (IllegalArgumentException e) {
                        assertTrue(e.getMessage().contains("strength"), e.getMessage());
                        failures.add(kind + "/" + steps + "/" + s);
                    }
                }
            }
        }
        // LCM: floor(50 s) >= steps; DDIM: floor(steps s) >= 1 (TCD and Euler share these rules; every kind's plans:
        // DenoisingLoopPlanTest) (the full grid of plans: DenoisingLoopPlanTest)
        assertEquals(List.of("LCM/1/0.01", "LCM/4/0.01", "LCM/4/0.05", "DDIM/1/0.01", "DDIM/1/0.05", "DDIM/4/0.01",
                "DDIM/4/0.05"), failures);
        assertEquals(12 - failures.size(), ran);
    }

    @Test
    void img2imgUsesTheInputImage() {
        BufferedImage a = gradient(0);
        BufferedImage b = gradient(100);
        GenerationRequest r = request("a cat").withSteps(2);
        BufferedImage fromA = pipe.generate(r.withInitImage(a, 0.5)).get(0).image();
        BufferedImage fromB = pipe.generate(r.withInitImage(b, 0.5)).get(0).image();
        BufferedImage fromA2 = pipe.generate(r.withInitImage(a, 0.5)).get(0).image();
        assertTrue(ImageLevels.maxLevelDiff(fromA, fromB) > 0, "another input image must give another output");
        assertArrayEquals(pixels(fromA), pixels(fromA2));
    }

    @Test
    void singleFileCheckpointGivesTheFolderModelsImage() throws Exception {
        Path file = TinySdxlFolder.GOLDEN.resolve("single_file/model.safetensors");
        Path folder = tmp.resolve("tiny-sdxl");
        try (SdxlModel single = ModelSource.open(file, LoadOptions.cpu(), SingleFileConfigs.fromDir(folder), folder);
                SdxlPipeline p = new SdxlPipeline(single)) {
            GenerationRequest r = request("a red cat").withGuidance(3.0).withNegativePrompt("blurry");
            assertTrue(ImageLevels.maxLevelDiff(pipe.generate(r).get(0).image(), p.generate(r).get(0).image()) <= 1);
            assertTrue(single.notes().get(0).contains("single-file"), single.notes().get(0));
        }
    }

    @Test
    void sizesMustBeMultiplesOfTheVaeFactor() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> pipe.generate(request("a cat").withSize(30, 32)));
        assertTrue(e.getMessage().contains("multiples of 4"), e.getMessage());
        assertFalse(pipe.generate(request("a cat").withSize(40, 24)).isEmpty());
    }

    @Test
    void defaultSizeIsTheUnetSampleSizeTimesTheVaeFactor() {
        GenerationRequest r = GenerationRequest.of("a cat").withSteps(1);
        BufferedImage img = pipe.generate(r).get(0).image();
        assertEquals(model.unet().config().sampleSize() * model.vaeScaleFactor(), img.getWidth());
        assertNotEquals(0, img.getHeight());
    }

    @Test
    void textEncoderLoraChangesTheImageAndClosingThePipelineRemovesIt() throws Exception {
        // a kohya-format LoRA on one text_encoder attention projection and one text_encoder_2 MLP layer
        Path file = tmp.resolve("te-lora.safetensors");
        java.util.Random rnd = new java.util.Random(5);
        io.lcmlora.io.SafeTensorsWriter w = new io.lcmlora.io.SafeTensorsWriter();
        for (String stem : new String[] {"lora_te1_text_model_encoder_layers_0_self_attn_q_proj", "lora_te2_text_model_encoder_layers_1_mlp_fc1"}) {
            long out = stem.contains("fc1") ? model.textEncoder2().config().intermediateSize() : model.textEncoder().config().hiddenSize();
            long in = stem.startsWith("lora_te1") ? model.textEncoder().config().hiddenSize() : model.textEncoder2().config().hiddenSize();
            float[] down = new float[(int) (2 * in)];
            float[] up = new float[(int) (out * 2)];
            for (int i = 0; i < down.length; i++) {
                down[i] = (float) rnd.nextGaussian();
            }
            for (int i = 0; i < up.length; i++) {
                up[i] = (float) rnd.nextGaussian();
            }
            w.addFloats(stem + ".lora_down.weight", new long[] {2, in}, down, io.lcmlora.io.DType.F32);
            w.addFloats(stem + ".lora_up.weight", new long[] {out, 2}, up, io.lcmlora.io.DType.F32);
        }
        w.write(file);
        BufferedImage base = pipe.generate(request("a red square")).get(0).image();
        try (SdxlPipeline withLora = new SdxlPipeline(model)) {
            withLora.loadLora(LoraSpec.parse(file + ":1.0"));
            assertTrue(ImageLevels.maxLevelDiff(base, withLora.generate(request("a red square")).get(0).image()) > 0,
                    "a text-encoder LoRA must change the conditioning");
        }
        assertEquals(0, ImageLevels.maxLevelDiff(base, pipe.generate(request("a red square")).get(0).image()),
                "closing the pipeline detaches its adapters");
    }

    @Test
    void setAdaptersSwitchesLorasPerRequestAndTheSettingsListOnlyTheOnesThatRan() throws Exception {
        Path lora = Path.of(System.getProperty("golden.dir")).resolve("lora_formats/lora_peft.safetensors");
        BufferedImage base = pipe.generate(request("a red square")).get(0).image();
        try (SdxlPipeline p = new SdxlPipeline(model)) {
            String name = p.loadLora(new LoraSpec(lora, 1.0));
            assertEquals("lora_peft", name);
            p.setAdapters(Map.of());
            GeneratedImage off = p.generate(request("a red square")).get(0);
            assertEquals(0, ImageLevels.maxLevelDiff(base, off.image()), "no adapters = the base model");
            assertEquals(0, JsonParser.parseString(off.parameters()).getAsJsonObject().getAsJsonArray("adapters").size());
            p.setAdapters(Map.of(name, 0.5));
            GeneratedImage half = p.generate(request("a red square")).get(0);
            assertTrue(ImageLevels.maxLevelDiff(base, half.image()) > 0);
            JsonObject ran = JsonParser.parseString(half.parameters()).getAsJsonObject().getAsJsonArray("adapters").get(0)
                    .getAsJsonObject();
            assertEquals(name, ran.get("name").getAsString());
            assertEquals(0.5, ran.get("weight").getAsDouble());
            assertThrows(IllegalArgumentException.class, () -> p.setAdapters(Map.of("style", 1.0)));
        }
    }
}
