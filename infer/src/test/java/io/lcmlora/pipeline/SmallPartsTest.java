package io.lcmlora.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Seeded noise statistics, LoRA specs, prompt files and the 8-bit conversion. */
class SmallPartsTest {
    @TempDir
    Path tmp;

    @Test
    void noiseIsStandardNormalAndKeyedBySeedPurposeAndIndex() {
        int n = 200_000;
        float[] x = GaussianNoise.draw(42, GaussianNoise.Purpose.LATENTS, 0, n);
        double mean = 0;
        double sq = 0;
        double fourth = 0;
        for (float v : x) {
            mean += v;
            sq += v * v;
            fourth += (double) v * v * v * v;
        }
        mean /= n;
        double var = sq / n - mean * mean;
        // standard errors: mean 1/sqrt(n) = 0.0022, variance sqrt(2/n) = 0.0032, 4th moment sqrt(96/n) = 0.022
        assertEquals(0, mean, 0.01);
        assertEquals(1, var, 0.015);
        assertEquals(3, fourth / n, 0.1);
        assertArrayEquals(x, GaussianNoise.draw(42, GaussianNoise.Purpose.LATENTS, 0, n));
        float[] prefix = GaussianNoise.draw(42, GaussianNoise.Purpose.LATENTS, 0, 7);
        assertArrayEquals(prefix, java.util.Arrays.copyOf(x, 7));
        float a = GaussianNoise.draw(43, GaussianNoise.Purpose.LATENTS, 0, 1)[0];
        float b = GaussianNoise.draw(42, GaussianNoise.Purpose.STEP, 0, 1)[0];
        float c = GaussianNoise.draw(42, GaussianNoise.Purpose.STEP, 1, 1)[0];
        assertTrue(a != x[0] && b != x[0] && c != b);
    }

    @Test
    void loraSpecs() {
        LoraSpec s = LoraSpec.parse("style.safetensors:0.8");
        assertEquals(Path.of("style.safetensors"), s.file());
        assertEquals(0.8, s.weight());
        assertEquals("style", s.name());
        assertEquals(1.0, LoraSpec.parse("lcm-lora-sdxl.safetensors").weight());
        assertEquals(Path.of("C:dir/x.safetensors"), LoraSpec.parse("C:dir/x.safetensors").file());
        assertEquals(-0.5, LoraSpec.parse("a:b.safetensors:-0.5").weight());
        assertThrows(IllegalArgumentException.class, () -> LoraSpec.parse("x.safetensors:NaN"));
    }

    @Test
    void promptFilesMixLinesAndJson() throws Exception {
        Path f = tmp.resolve("prompts.txt");
        Files.writeString(f, "# comment\na cat\n\n{\"prompt\": \"a dog\", \"negative_prompt\": \"blurry\", \"seed\": 12}\n"
                + "{\"prompt\": \"a fox\"}\n");
        List<PromptFile.Entry> e = PromptFile.read(f);
        assertEquals(List.of(new PromptFile.Entry("a cat", null, null), new PromptFile.Entry("a dog", "blurry", 12L),
                new PromptFile.Entry("a fox", null, null)), e);
        Files.writeString(f, "{\"prompt\": \"a dog\", \"seed\": 1.5}\n");
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> PromptFile.read(f));
        assertTrue(bad.getMessage().contains("line 1") && bad.getMessage().contains("seed"), bad.getMessage());
        Files.writeString(f, "{\"promt\": \"a dog\"}\n");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> PromptFile.read(f)).getMessage().contains("promt"));
        Files.writeString(f, "\n# only a comment\n");
        assertThrows(IllegalArgumentException.class, () -> PromptFile.read(f));
        Files.writeString(f, "{\"prompt\": \"x\", \"negative_prompt\": null}\n");
        assertNull(PromptFile.read(f).get(0).negativePrompt());
    }

    @Test
    void eightBitConversionRoundsHalfToEvenAfterClamping() {
        assertEquals(0, PngImages.toByte(-1.5f));
        assertEquals(255, PngImages.toByte(1.0f));
        assertEquals(128, PngImages.toByte(0.0f)); // 0.5 * 255 = 127.5 -> 128 (even)
        assertEquals(255, PngImages.toByte(7f));
        // 2 * 126.5 / 255 - 1 -> 126.5 -> 126 (even)
        assertEquals(126, PngImages.toByte(2f * 126.5f / 255f - 1f));
    }
}
