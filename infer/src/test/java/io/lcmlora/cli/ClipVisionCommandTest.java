package io.lcmlora.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lcmlora.io.DType;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.io.SafeTensorsWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code lcm forward clip-vision} against the golden {@code clip_score/} tensors. */
class ClipVisionCommandTest {
    static final Path DIR = Path.of(System.getProperty("golden.dir"), "clip_score");

    @Test
    void pixelValuesThroughPicocli(@TempDir Path tmp) throws IOException {
        try (SafeTensorsFile cases = SafeTensorsFile.open(DIR.resolve("cases.safetensors"))) {
            Path in = tmp.resolve("in.safetensors");
            new SafeTensorsWriter().addFloats("pixel_values", cases.info("pixel_values").shape(),
                    cases.floats("pixel_values"), DType.F32).write(in);
            Path out = tmp.resolve("out.safetensors");
            int rc = new CommandLine(new ForwardCommand()).execute("clip-vision", "--model", DIR.resolve("vision").toString(),
                    "--inputs", in.toString(), "--output", out.toString());
            assertEquals(0, rc);
            try (SafeTensorsFile o = SafeTensorsFile.open(out)) {
                ClipCommandsTest.assertSame(o, "image_embeds", cases, "image_embeds");
                ClipCommandsTest.assertSame(o, "last_hidden_state", cases, "vision_last_hidden_state");
                ClipCommandsTest.assertSame(o, "penultimate_hidden_state", cases, "vision_penultimate");
            }
        }
    }

    @Test
    void imagesThroughTheProcessor(@TempDir Path tmp) throws IOException {
        try (SafeTensorsFile cases = SafeTensorsFile.open(DIR.resolve("cases.safetensors"))) {
            Path in = tmp.resolve("in.safetensors");
            ByteBuffer b = cases.bytes("images_u8");
            new SafeTensorsWriter().add("images_u8", DType.U8, cases.info("images_u8").shape(), b).write(in);
            Path out = tmp.resolve("out.safetensors");
            ClipVisionCommand.run(DIR.resolve("vision"), null, in, out);
            try (SafeTensorsFile o = SafeTensorsFile.open(out)) {
                ClipCommandsTest.assertSame(o, "pixel_values", cases, "pixel_values");
                ClipCommandsTest.assertSame(o, "image_embeds", cases, "image_embeds");
            }
            Path ids = tmp.resolve("ids.safetensors");
            new SafeTensorsWriter().addLongs("input_ids", cases.info("input_ids").shape(), cases.longs("input_ids")).write(ids);
            var e = assertThrows(IllegalArgumentException.class,
                    () -> ClipVisionCommand.run(DIR.resolve("vision"), null, ids, tmp.resolve("x.safetensors")));
            assertTrue(e.getMessage().contains("'pixel_values'"), e.getMessage());
        }
    }
}
