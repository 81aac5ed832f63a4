package io.lcmlora.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.types.DataType;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.io.SafeTensorsWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ForwardUnetCommandTest {
    static final Path GOLDEN = Path.of(System.getProperty("golden.dir"), "unet");

    @Test
    void goldenInputsThroughTheCliReproduceTheGoldenOutput(@TempDir Path tmp) throws Exception {
        Path in = tmp.resolve("in.safetensors");
        Path out = tmp.resolve("out.safetensors");
        try (SafeTensorsFile c = SafeTensorsFile.open(GOLDEN.resolve("cases.safetensors"))) {
            SafeTensorsWriter w = new SafeTensorsWriter();
            for (String n : new String[] {"sample", "timestep", "encoder_hidden_states", "text_embeds", "time_ids"}) {
                var info = c.info("b_" + n);
                w.add(n, info.dtype(), info.shape(), c.bytes("b_" + n));
            }
            w.write(in);
            new picocli.CommandLine(new ForwardCommand()).execute("unet", "--model", GOLDEN.getParent().resolve("unet").toString(),
                    "--inputs", in.toString(), "--output", out.toString());
            assertTrue(Files.exists(out));
            try (SafeTensorsFile o = SafeTensorsFile.open(out)) {
                float[] got = o.floats("sample");
                float[] want = c.floats("b_out");
                double max = 0;
                for (int i = 0; i < want.length; i++) {
                    max = Math.max(max, Math.abs(got[i] - want[i]));
                }
                assertTrue(max <= 1e-4, "max abs " + max);
            }
        }
    }

    @Test
    void bf16IsRefusedWithAReason() {
        var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> Precision.parse("bf16"));
        assertTrue(e.getMessage().contains("DJL"));
        org.junit.jupiter.api.Assertions.assertEquals(DataType.FLOAT16, Precision.parse("fp16"));
    }
}
