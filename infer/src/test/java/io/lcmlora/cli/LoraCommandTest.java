package io.lcmlora.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lcmlora.io.DType;
import io.lcmlora.io.SafeTensorsWriter;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code lcm lora inspect} on the golden files; expected numbers were read from the file headers by a separate script. */
class LoraCommandTest {
    static final Path GOLDEN = Path.of(System.getProperty("golden.dir"));
    static final Path DIR = GOLDEN.resolve("lora_formats");

    @Test
    void inspectKohyaSgmAgainstTheTinyUnet() throws Exception {
        String s = LoraCommand.inspect(DIR.resolve("lora_kohya_sgm.safetensors"), GOLDEN.resolve("unet"));
        System.out.print(s);
        assertTrue(s.contains("format: KOHYA_SGM"), s);
        assertTrue(s.contains("modules: 258 (unet x 258)"), s);
        assertTrue(s.contains("rank: 2 x 258"), s);
        assertTrue(s.contains("alpha: 2 x 258"), s);
        assertTrue(s.contains("parameters: 84,672"), s);
        assertTrue(s.contains("kinds: 49 conv, 209 linear"), s);
        assertTrue(s.contains("unet: to_q 34, to_k 34, to_v 34, to_out.0 34, proj_in 11, proj_out 11, ff.net.0.proj 17, ff.net.2 17, "
                + "conv1 17, conv2 17, conv_shortcut 11, downsamplers.0.conv 2, upsamplers.0.conv 2, time_emb_proj 17"), s);
        assertTrue(s.contains("ss_network_alpha: 2"), s);
    }

    /** Without --model the SDXL architecture names the modules (the tiny UNet's names are a subset of SDXL's). */
    @Test
    void inspectPeftWithTheDefaultSdxlNamesThroughPicocli() {
        StringWriter err = new StringWriter();
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        java.io.PrintStream old = System.out;
        int code;
        try {
            System.setOut(new java.io.PrintStream(out, true));
            code = new CommandLine(new LoraCommand()).setErr(new PrintWriter(err))
                    .execute("inspect", DIR.resolve("lora_peft.safetensors").toString());
        } finally {
            System.setOut(old);
        }
        String s = out.toString();
        assertEquals(0, code, err.toString());
        assertTrue(s.contains("format: PEFT"), s);
        assertTrue(s.contains("alpha: none (alpha = rank) x 258"), s);
        assertTrue(s.contains("scale alpha/rank: 1 x 258"), s);
        assertTrue(s.contains("parameters: 84,672"), s);
    }

    @Test
    void textEncoderKeysResolveThroughClipNames(@TempDir Path tmp) throws Exception {
        Path f = tmp.resolve("te.safetensors");
        String te1 = "lora_te1_text_model_encoder_layers_11_self_attn_q_proj";
        String te2 = "lora_te2_text_model_encoder_layers_31_mlp_fc2";
        new SafeTensorsWriter()
                .addFloats(te1 + ".lora_down.weight", new long[] {4, 768}, new float[4 * 768], DType.F32)
                .addFloats(te1 + ".lora_up.weight", new long[] {768, 4}, new float[4 * 768], DType.F32)
                .addFloats(te1 + ".alpha", new long[] {}, new float[] {1}, DType.F32)
                .addFloats(te2 + ".lora_down.weight", new long[] {8, 5120}, new float[8 * 5120], DType.F16)
                .addFloats(te2 + ".lora_up.weight", new long[] {1280, 8}, new float[8 * 1280], DType.F16)
                .addFloats("lora_unet_input_blocks_4_1_proj_in.lora_down.weight", new long[] {4, 640}, new float[4 * 640], DType.F32)
                .addFloats("lora_unet_input_blocks_4_1_proj_in.lora_up.weight", new long[] {640, 4}, new float[4 * 640], DType.F32)
                .write(f);
        String s = LoraCommand.inspect(f, null);
        assertTrue(s.contains("modules: 3 ("), s);
        for (String c : new String[] {"text_encoder x 1", "text_encoder_2 x 1", "unet x 1"}) {
            assertTrue(s.contains(c), s);
        }
        assertTrue(s.contains("rank: 4 x 2, 8 x 1"), s);
        assertTrue(s.contains("text_encoder: q_proj 1"), s);
        assertTrue(s.contains("text_encoder_2: fc2 1"), s);
        assertTrue(s.contains("unet: proj_in 1"), s);
        assertTrue(s.contains(String.format("parameters: %,d", 4 * 768 * 2 + 8 * 5120 + 1280 * 8 + 4 * 640 * 2)), s);
    }

    @Test
    void unknownKeysFailWithTheFileName(@TempDir Path tmp) throws Exception {
        Path f = tmp.resolve("odd.safetensors");
        new SafeTensorsWriter().addFloats("lora_unet_nope.lora_down.weight", new long[] {1, 1}, new float[1], DType.F32).write(f);
        StringWriter err = new StringWriter();
        int code = new CommandLine(new LoraCommand()).setErr(new PrintWriter(err)).execute("inspect", f.toString());
        assertTrue(code != 0);
        assertTrue(err.toString().contains("odd.safetensors") && err.toString().contains("lora_unet_nope.lora_down.weight"),
                err.toString());
    }
}
