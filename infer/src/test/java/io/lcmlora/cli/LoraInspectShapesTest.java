package io.lcmlora.cli;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lcmlora.io.DType;
import io.lcmlora.io.SafeTensorsWriter;
import io.lcmlora.lora.LoraException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code lora inspect} names each module's kind and compares the shapes with the model (SDXL by default). */
class LoraInspectShapesTest {
    static final String STEM = "lora_unet_down_blocks_0_resnets_0_time_emb_proj"; // SDXL: Linear 1280 -> 320

    @Test
    void kindsPerModuleAndShapeMismatchesNamingTheKey(@TempDir Path tmp) throws Exception {
        Path ok = tmp.resolve("loha.safetensors");
        new SafeTensorsWriter().addFloats(STEM + ".hada_w1_a", new long[] {320, 2}, new float[640], DType.F32)
                .addFloats(STEM + ".hada_w1_b", new long[] {2, 1280}, new float[2560], DType.F32)
                .addFloats(STEM + ".hada_w2_a", new long[] {320, 2}, new float[640], DType.F32)
                .addFloats(STEM + ".hada_w2_b", new long[] {2, 1280}, new float[2560], DType.F32)
                .addFloats(STEM + ".alpha", new long[0], new float[] {1}, DType.F32).write(ok);
        new SafeTensorsWriter().addFloats(STEM + ".hada_w1_a", new long[] {320, 2}, new float[640], DType.F32)
                .addFloats(STEM + ".hada_w1_b", new long[] {2, 1280}, new float[2560], DType.F32)
                .addFloats(STEM + ".hada_w2_a", new long[] {320, 2}, new float[640], DType.F32)
                .addFloats(STEM + ".hada_w2_b", new long[] {2, 1280}, new float[2560], DType.F32)
                .addFloats("bundle_emb.sks.string_to_param.clip_l", new long[] {1, 768}, new float[768], DType.F32)
                .addFloats("bundle_emb.sks.string_to_param.clip_g", new long[] {1, 1280}, new float[1280], DType.F32)
                .write(tmp.resolve("bundled.safetensors"));
        String bundled = LoraCommand.inspect(tmp.resolve("bundled.safetensors"), null);
        assertTrue(bundled.contains("skipped keys (not adapter tensors): 2 (2 bundle_emb)"), bundled);
        LoraException strict = assertThrows(LoraException.class, () -> LoraCommand.inspect(tmp.resolve("bundled.safetensors"), null, true));
        assertTrue(strict.getMessage().contains("--strict") && strict.getMessage().contains("bundle_emb.sks.string_to_param.clip_l"),
                strict.getMessage());
        String text = LoraCommand.inspect(ok, null);
        assertTrue(text.contains("unet.down_blocks.0.resnets.0.time_emb_proj: loha rank 2"), text);
        assertTrue(text.contains("every module fits"), text);
        // against a model (--model): a mismatch is an error naming the file's key; tiny-sdxl's time_emb_proj is [16, 64]
        Path bad = tmp.resolve("bad.safetensors");
        new SafeTensorsWriter().addFloats(STEM + ".lora_down.weight", new long[] {2, 64}, new float[128], DType.F32)
                .addFloats(STEM + ".lora_up.weight", new long[] {15, 2}, new float[30], DType.F32).write(bad);
        Path tiny = Path.of(System.getProperty("golden.dir")).getParent().resolve("tiny-sdxl");
        LoraException e = assertThrows(LoraException.class, () -> LoraCommand.inspect(bad, tiny));
        assertTrue(e.getMessage().contains("bad.safetensors") && e.getMessage().contains(STEM + ".lora_down.weight")
                && e.getMessage().contains("[15, 64]") && e.getMessage().contains("[16, 64]"), e.getMessage());
        // without --model the SDXL base shapes are only reported
        String report = LoraCommand.inspect(bad, null);
        assertTrue(report.contains("1 module(s) differ from the SDXL base") && report.contains("[320, 1280]"), report);
    }

    /** The new kinds in inspect: LoCon Tucker with its core, DoRA with its norm axis, a bias difference checked against the model. */
    @Test
    void tuckerDoraAxisAndBiasDifferences(@TempDir Path tmp) throws Exception {
        String conv = "lora_unet_down_blocks_0_resnets_0_conv1"; // SDXL: Conv2d 320 -> 320, 3x3
        for (int bias : new int[] {320, 319}) {
            Path f = tmp.resolve("kinds" + bias + ".safetensors");
            new SafeTensorsWriter().addFloats(conv + ".lora_down.weight", new long[] {2, 320, 1, 1}, new float[640], DType.F32)
                    .addFloats(conv + ".lora_mid.weight", new long[] {2, 2, 3, 3}, new float[36], DType.F32)
                    .addFloats(conv + ".lora_up.weight", new long[] {320, 2, 1, 1}, new float[640], DType.F32)
                    .addFloats(STEM + ".lora_down.weight", new long[] {2, 1280}, new float[2560], DType.F32)
                    .addFloats(STEM + ".lora_up.weight", new long[] {320, 2}, new float[640], DType.F32)
                    .addFloats(STEM + ".dora_scale", new long[] {1, 1280}, new float[1280], DType.F32)
                    .addFloats(STEM + ".diff_b", new long[] {bias}, new float[bias], DType.F32).write(f);
            String text = LoraCommand.inspect(f, null);
            assertTrue(text.contains("unet.down_blocks.0.resnets.0.conv1: locon tucker rank 2, core 3x3"), text);
            assertTrue(text.contains("unet.down_blocks.0.resnets.0.time_emb_proj: dora rank 2, norm per input column (kohya"
                    + " dora_scale) + bias diff"), text);
            assertTrue(text.contains("dora norm: per input column (kohya dora_scale) x 1"), text);
            assertTrue(text.contains("adapter kinds: locon tucker x 1, dora x 1"), text);
            assertTrue(bias == 320 ? text.contains("every module fits")
                    : text.contains("1 module(s) differ") && text.contains(STEM + ".diff_b") && text.contains("[319] bias values"), text);
        }
    }
}
