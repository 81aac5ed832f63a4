package io.lcmlora.train.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.lcmlora.pipeline.PngImages;
import io.lcmlora.train.cli.Main;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code lcm eval --config configs/eval-tiny.yaml} end to end through the command line: the real SDXL pipeline on the
 * golden tiny model (testdata/tiny-sdxl) with the golden tiny LoRA, the pixels extractor; then a rerun that
 * regenerates nothing, and a resume after losing images that regenerates exactly those, pixel for pixel.
 */
class TinyPipelineSweepTest {
    static final Path ROOT = Path.of(System.getProperty("golden.dir")).getParent().getParent();

    @TempDir
    Path tmp;

    /** The tiny example config with its repository paths made absolute (tests run in train/). */
    Path config() throws IOException {
        String yaml = Files.readString(ROOT.resolve("configs/eval-tiny.yaml"))
                .replace(" testdata/", " " + ROOT.resolve("testdata") + "/");
        Path f = tmp.resolve("eval-tiny.yaml");
        Files.writeString(f, yaml);
        return f;
    }

    String lcm(String... args) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        var cli = Main.commandLine();
        cli.setErr(new PrintWriter(err, true, StandardCharsets.UTF_8));
        int code = cli.execute(args);
        assertEquals(0, code, err.toString(StandardCharsets.UTF_8));
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void tinySweepThroughTheCliResumesExactly() throws IOException {
        Path cfg = config();
        Path out = tmp.resolve("out");
        // the example config cut down to 12 images (the CPU is shared): 4 prompts x 1 image, 3 settings
        String[] args = {"eval", "--config", cfg.toString(), "--set", "output_dir=" + out, "--set", "seeds=[0]", "--set",
            "images_per_prompt=1", "--set", "settings=[{name: lcm-lora, scheduler: lcm, steps: [1, 2], adapters: "
                + "[tiny-lora]}, {name: ddim, scheduler: ddim, steps: [2], guidance: 5}]"};
        lcm(args);

        JsonObject json = JsonParser.parseString(Files.readString(out.resolve("results.json"))).getAsJsonObject();
        JsonArray rows = json.getAsJsonArray("settings");
        List<String> names = new ArrayList<>();
        rows.forEach(r -> names.add(r.getAsJsonObject().get("name").getAsString()));
        assertEquals(List.of("lcm-lora-1steps", "lcm-lora-2steps", "ddim"), names);
        assertEquals(4, json.getAsJsonObject("reference").get("samples").getAsLong());
        double[] fids = new double[rows.size()];
        for (int i = 0; i < rows.size(); i++) {
            JsonObject r = rows.get(i).getAsJsonObject();
            assertEquals(4, r.get("samples").getAsLong()); // 4 prompts x seed 0 x 1 image
            fids[i] = r.get("fid").getAsDouble();
            assertTrue(Double.isFinite(fids[i]) && fids[i] >= 0, names.get(i) + ": " + fids[i]);
            BufferedImage grid = ImageIO.read(out.resolve("grid_" + names.get(i) + ".png").toFile());
            assertEquals(SampleGrid.GAP + 4 * (EvalSweep.GRID_CELL + SampleGrid.GAP), grid.getWidth());
            assertEquals(SampleGrid.TITLE + SampleGrid.HEADER + (EvalSweep.GRID_CELL + SampleGrid.GAP)
                    + SampleGrid.GAP, grid.getHeight()); // rows: seed 0 only
        }
        assertEquals("tiny-lora", rows.get(0).getAsJsonObject().getAsJsonArray("adapters").get(0).getAsJsonObject()
                .get("name").getAsString());
        BufferedImage plot = ImageIO.read(out.resolve("fid_vs_steps.png").toFile());
        assertEquals(900, plot.getWidth());
        assertEquals(560, plot.getHeight());
        String md = Files.readString(out.resolve("results.md"));
        assertTrue(md.contains("| ddim | tiny | ddim | 2 | 5 | "), md);
        // images: 64 px PNG with the pipeline's settings chunk
        Path img = out.resolve("lcm-lora-2steps/00003_0.png");
        BufferedImage first = ImageIO.read(img.toFile());
        assertEquals(64, first.getWidth());
        Map<String, String> text = PngImages.readText(img);
        assertTrue(text.get("parameters").contains("\"steps\":2"), text.toString());
        assertTrue(text.get("parameters").contains("\"name\":\"lora_peft\""), text.toString());
        // DDIM at guidance 5 uses prompt 3's negative prompt; prompt 0 has none (the config sets no default)
        assertTrue(PngImages.readText(out.resolve("ddim/00003_0.png")).get("parameters").contains("blurry"));
        assertTrue(!PngImages.readText(out.resolve("ddim/00000_0.png")).get("parameters").contains("blurry"));
        assertTrue(!PngImages.readText(out.resolve("ddim/00000_0.png")).get("parameters").contains("lora_peft"));
        // settings really differ: LCM 1 step with the LoRA vs DDIM 2 steps without
        assertNotEquals(pixels(out.resolve("lcm-lora-1steps/00000_0.png")), pixels(out.resolve("ddim/00000_0.png")));

        // rerun: nothing regenerated, same numbers
        FileTime t = Files.getLastModifiedTime(img);
        lcm(args);
        assertEquals(t, Files.getLastModifiedTime(img));
        JsonArray again = JsonParser.parseString(Files.readString(out.resolve("results.json"))).getAsJsonObject()
                .getAsJsonArray("settings");
        for (int i = 0; i < fids.length; i++) {
            assertEquals(fids[i], again.get(i).getAsJsonObject().get("fid").getAsDouble(), 0.0);
        }

        // lose two images: exactly those come back, pixel for pixel
        List<Integer> before = pixels(img);
        Path other = out.resolve("ddim/00001_0.png");
        List<Integer> otherBefore = pixels(other);
        FileTime keep = Files.getLastModifiedTime(out.resolve("lcm-lora-2steps/00002_0.png"));
        Files.delete(img);
        Files.delete(other);
        lcm(args);
        assertEquals(before, pixels(img));
        assertEquals(otherBefore, pixels(other));
        assertEquals(keep, Files.getLastModifiedTime(out.resolve("lcm-lora-2steps/00002_0.png")));
        JsonArray resumed = JsonParser.parseString(Files.readString(out.resolve("results.json"))).getAsJsonObject()
                .getAsJsonArray("settings");
        for (int i = 0; i < fids.length; i++) {
            assertEquals(fids[i], resumed.get(i).getAsJsonObject().get("fid").getAsDouble(), 0.0, names.get(i));
        }
    }

    static List<Integer> pixels(Path png) throws IOException {
        BufferedImage img = ImageIO.read(png.toFile());
        List<Integer> out = new ArrayList<>();
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                out.add(img.getRGB(x, y));
            }
        }
        return out;
    }
}
