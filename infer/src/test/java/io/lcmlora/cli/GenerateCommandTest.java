package io.lcmlora.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.lcmlora.pipeline.ImageLevels;
import io.lcmlora.pipeline.PngImages;
import io.lcmlora.pipeline.TinySdxlFolder;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code lcm generate} on the tiny SDXL folder with a golden LoRA, through picocli. */
class GenerateCommandTest {
    static final Path LORA = Path.of(System.getProperty("golden.dir")).resolve("lora_formats/lora_peft.safetensors");
    @TempDir
    static Path tmp;
    static Path model;

    @BeforeAll
    static void folder() throws Exception {
        model = TinySdxlFolder.create(tmp);
    }

    static List<Path> generate(Path out, String... extra) throws Exception {
        Path prompts = tmp.resolve("prompts.jsonl");
        Files.writeString(prompts, "a red cat\n{\"prompt\": \"a dog\", \"seed\": 5}\n");
        String[] base = {"--model", model.toString(), "--prompts", prompts.toString(), "--width", "32", "--height", "32",
            "--steps", "2", "--seed", "3", "--out", out.toString()};
        String[] args = Stream.concat(Stream.of(base), Stream.of(extra)).toArray(String[]::new);
        assertEquals(0, new CommandLine(new GenerateCommand()).execute(args));
        try (Stream<Path> files = Files.list(out)) {
            return files.sorted().toList();
        }
    }

    @Test
    void promptsFileWithLoraWritesOnePngPerPromptWithSettings() throws Exception {
        List<Path> files = generate(tmp.resolve("unfused"), "--lora", LORA + ":0.8");
        assertEquals(List.of("00000-3.png", "00001-5.png"), files.stream().map(p -> p.getFileName().toString()).toList());
        JsonObject p = JsonParser.parseString(PngImages.readText(files.get(1)).get("parameters")).getAsJsonObject();
        assertEquals("a dog", p.get("prompt").getAsString());
        assertEquals(5, p.get("seed").getAsLong());
        JsonObject adapter = p.getAsJsonArray("adapters").get(0).getAsJsonObject();
        assertEquals("lora_peft", adapter.get("name").getAsString());
        assertEquals(0.8, adapter.get("weight").getAsDouble());
        assertTrue(adapter.get("modules").getAsInt() > 0);

        List<Path> fused = generate(tmp.resolve("fused"), "--lora", LORA + ":0.8", "--fuse-lora");
        List<Path> plain = generate(tmp.resolve("plain"));
        for (int i = 0; i < 2; i++) {
            BufferedImage u = PngImages.read(files.get(i));
            BufferedImage f = PngImages.read(fused.get(i));
            BufferedImage n = PngImages.read(plain.get(i));
            // fusing changes float rounding only; the LoRA itself changes the image
            assertTrue(ImageLevels.maxLevelDiff(u, f) <= 1, "fused vs unfused: " + ImageLevels.maxLevelDiff(u, f));
            assertNotEquals(0, ImageLevels.maxLevelDiff(u, n));
        }
        assertTrue(JsonParser.parseString(PngImages.readText(fused.get(0)).get("parameters")).getAsJsonObject()
                .get("fused").getAsBoolean());
    }

    /** A module whose shape does not fit the model: generate --strict fails naming the kohya key as written, writes nothing. */
    @Test
    void misfitLoraShapeNamesTheKohyaKey() throws Exception {
        Path lora = tmp.resolve("misfit.safetensors");
        String stem = "lora_unet_down_blocks_0_downsamplers_0_conv";
        new io.lcmlora.io.SafeTensorsWriter() // the model's conv takes 16 input channels; A says 8
                .addFloats(stem + ".lora_down.weight", new long[] {2, 8, 3, 3}, new float[144], io.lcmlora.io.DType.F32)
                .addFloats(stem + ".lora_up.weight", new long[] {16, 2, 1, 1}, new float[32], io.lcmlora.io.DType.F32)
                .write(lora);
        Path out = tmp.resolve("misfit");
        java.io.StringWriter err = new java.io.StringWriter();
        CommandLine cl = new CommandLine(new GenerateCommand()).setErr(new java.io.PrintWriter(err));
        assertNotEquals(0, cl.execute("--model", model.toString(), "--prompt", "x", "--width", "32", "--height", "32",
                "--steps", "1", "--strict", "--lora", lora + ":1", "--out", out.toString()));
        assertTrue(err.toString().contains("'" + stem + ".lora_down.weight'") && err.toString().contains("misfit.safetensors")
                && err.toString().contains("down_blocks.0.downsamplers.0.conv"), err.toString());
        assertTrue(!Files.exists(out) || Files.list(out).findAny().isEmpty());
    }

    @Test
    void badArgumentsFailWithoutWriting() throws Exception {
        Path out = tmp.resolve("bad");
        CommandLine cl = new CommandLine(new GenerateCommand());
        assertNotEquals(0, cl.execute("--model", model.toString(), "--prompt", "x", "--scheduler", "heun", "--out", out.toString()));
        assertNotEquals(0, cl.execute("--model", model.toString(), "--prompt", "x", "--scheduler", "euler", "--eta", "0.3", "--out",
                out.toString()));
        assertNotEquals(0, cl.execute("--model", model.toString(), "--prompt", "x", "--scheduler", "ddim", "--timesteps", "999,499",
                "--out", out.toString()));
        assertNotEquals(0, cl.execute("--model", model.toString(), "--out", out.toString()));
        assertTrue(!Files.exists(out));
    }
}
