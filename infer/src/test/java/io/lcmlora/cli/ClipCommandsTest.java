package io.lcmlora.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.io.SafeTensorsWriter;
import io.lcmlora.model.clip.ClipTextEncoder;
import io.lcmlora.model.clip.SdxlPromptEncoder;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class ClipCommandsTest {
    static final Path DIR = Path.of(System.getProperty("golden.dir"), "text_encoders");

    static void assertSame(SafeTensorsFile out, String name, SafeTensorsFile golden, String goldenName) throws IOException {
        assertArrayEquals(golden.info(goldenName).shape(), out.info(name).shape(), name);
        float[] a = out.floats(name);
        float[] b = golden.floats(goldenName);
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        assertTrue(m <= 1e-4, name + " vs " + goldenName + ": max abs " + m);
    }

    /** Writes {@code file} holding golden id tensors renamed: pairs of (golden name, input name). */
    static Path writeIds(Path file, SafeTensorsFile from, String... pairs) throws IOException {
        SafeTensorsWriter w = new SafeTensorsWriter();
        for (int i = 0; i < pairs.length; i += 2) {
            w.addLongs(pairs[i + 1], from.info(pairs[i]).shape(), from.longs(pairs[i]));
        }
        w.write(file);
        return file;
    }

    @Test
    void textEncoderCommandViaPicocli(@TempDir Path tmp) throws IOException {
        try (SafeTensorsFile cases = SafeTensorsFile.open(DIR.resolve("cases.safetensors"))) {
            Path in = writeIds(tmp.resolve("in.safetensors"), cases, "input_ids_2", "input_ids");
            Path out = tmp.resolve("out.safetensors");
            int rc = new CommandLine(new ForwardCommand()).execute("text-encoder", "--model", DIR.resolve("text_encoder_2").toString(),
                    "--inputs", in.toString(), "--output", out.toString());
            assertEquals(0, rc);
            try (SafeTensorsFile o = SafeTensorsFile.open(out)) {
                assertSame(o, "last_hidden_state", cases, "te2_last_hidden_state");
                assertSame(o, "hidden_states", cases, "te2_hidden_states");
                assertSame(o, "penultimate_hidden_state", cases, "te2_penultimate");
                assertSame(o, "text_embeds", cases, "te2_text_embeds");
                assertFalse(o.contains("pooler_output"));
            }
        }
    }

    @Test
    void textEncoderEntryWithoutProjection(@TempDir Path tmp) throws IOException {
        try (SafeTensorsFile cases = SafeTensorsFile.open(DIR.resolve("cases.safetensors"))) {
            Path in = writeIds(tmp.resolve("in.safetensors"), cases, "input_ids_1", "input_ids");
            Path out = tmp.resolve("out.safetensors");
            TextEncoderCommand.run(DIR.resolve("text_encoder"), TextEncoderCommand.parseProjection("auto"), null, in, out);
            try (SafeTensorsFile o = SafeTensorsFile.open(out)) {
                assertSame(o, "last_hidden_state", cases, "te1_last_hidden_state");
                assertSame(o, "hidden_states", cases, "te1_hidden_states");
                assertSame(o, "penultimate_hidden_state", cases, "te1_penultimate");
                assertSame(o, "pooler_output", cases, "te1_pooler_output");
            }
            var e = assertThrows(IllegalArgumentException.class,
                    () -> TextEncoderCommand.run(DIR.resolve("text_encoder"), ClipTextEncoder.Projection.NO, null, out, tmp.resolve("x")));
            assertTrue(e.getMessage().contains("'input_ids' is missing"), e.getMessage());
        }
    }

    @Test
    void encodePromptEntry(@TempDir Path tmp) throws IOException {
        try (SafeTensorsFile g = SafeTensorsFile.open(DIR.resolve("encode_prompt.safetensors"))) {
            Path in = writeIds(tmp.resolve("in.safetensors"), g, "c3_prompt_ids_1", "input_ids", "c3_prompt_ids_2", "input_ids_2",
                    "c3_negative_ids_1", "negative_input_ids", "c3_negative_ids_2", "negative_input_ids_2");
            Path out = tmp.resolve("out.safetensors");
            int rc = new CommandLine(new ForwardCommand()).execute("encode-prompt", "--model", DIR.toString(), "--inputs",
                    in.toString(), "--output", out.toString(), "--clip-skip", "1", "--time-ids", "1024,1024,0,0,1024,1024");
            assertEquals(0, rc);
            try (SafeTensorsFile o = SafeTensorsFile.open(out)) {
                for (String n : new String[] {"prompt_embeds", "pooled_prompt_embeds", "negative_prompt_embeds",
                    "negative_pooled_prompt_embeds"}) {
                    assertSame(o, n, g, "c3_" + n);
                }
                assertSame(o, "add_time_ids", g, "add_time_ids_1024");
            }

            Path in0 = writeIds(tmp.resolve("in0.safetensors"), g, "c0_prompt_ids_1", "input_ids", "c0_prompt_ids_2", "input_ids_2");
            EncodePromptCommand.run(DIR, null, in0, out, SdxlPromptEncoder.Options.DEFAULT, null, null);
            try (SafeTensorsFile o = SafeTensorsFile.open(out)) {
                for (String n : new String[] {"prompt_embeds", "pooled_prompt_embeds", "negative_prompt_embeds",
                    "negative_pooled_prompt_embeds"}) {
                    assertSame(o, n, g, "c0_" + n);
                }
            }
            // --no-force-zeros without negative ids cannot know the ids of ""
            var e = assertThrows(IllegalArgumentException.class,
                    () -> EncodePromptCommand.run(DIR, null, in0, out, SdxlPromptEncoder.Options.DEFAULT, false, null));
            assertTrue(e.getMessage().contains("empty prompt"), e.getMessage());
        }
    }
}
