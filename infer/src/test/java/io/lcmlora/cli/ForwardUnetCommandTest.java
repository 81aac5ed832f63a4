package io.lcmlora.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.types.DataType;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.io.SafeTensorsWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ForwardUnetCommandTest {
    static final Path GOLDEN = Path.of(System.getProperty("golden.dir"), "unet");

    /** Runs {@code forward unet} on golden case b and returns the exit code and the max abs error to b_out (NaN: no output). */
    static double[] runCaseB(Path tmp, String... modelArgs) throws Exception {
        Path in = tmp.resolve("in.safetensors");
        Path out = tmp.resolve("out.safetensors");
        Files.deleteIfExists(out);
        try (SafeTensorsFile c = SafeTensorsFile.open(GOLDEN.resolve("cases.safetensors"))) {
            SafeTensorsWriter w = new SafeTensorsWriter();
            for (String n : new String[] {"sample", "timestep", "encoder_hidden_states", "text_embeds", "time_ids"}) {
                var info = c.info("b_" + n);
                w.add(n, info.dtype(), info.shape(), c.bytes("b_" + n));
            }
            w.write(in);
            List<String> args = new ArrayList<>(List.of("unet", "--inputs", in.toString(), "--output", out.toString()));
            args.addAll(List.of(modelArgs));
            int rc = new picocli.CommandLine(new ForwardCommand()).execute(args.toArray(String[]::new));
            if (!Files.exists(out)) {
                return new double[] {rc, Double.NaN};
            }
            try (SafeTensorsFile o = SafeTensorsFile.open(out)) {
                float[] got = o.floats("sample");
                float[] want = c.floats("b_out");
                double max = 0;
                for (int i = 0; i < want.length; i++) {
                    max = Math.max(max, Math.abs(got[i] - want[i]));
                }
                return new double[] {rc, max};
            }
        }
    }

    @Test
    void goldenInputsThroughTheCliReproduceTheGoldenOutput(@TempDir Path tmp) throws Exception {
        double[] r = runCaseB(tmp, "--model", GOLDEN.toString());
        assertEquals(0, r[0]);
        assertTrue(r[1] <= 1e-4, "max abs " + r[1]);
    }

    @Test
    void singleFileCheckpointAsModel(@TempDir Path tmp) throws Exception {
        String file = GOLDEN.resolveSibling("single_file").resolve("model.safetensors").toString();
        double[] auto = runCaseB(tmp, "--model", file);
        assertEquals(0, auto[0]);
        assertTrue(auto[1] <= 1e-4, "max abs " + auto[1]);
        System.out.println("forward unet --model single_file/model.safetensors: max abs " + auto[1]);
        double[] tiny = runCaseB(tmp, "--model", file, "--config", "tiny");
        assertEquals(0, tiny[0]);
        assertTrue(tiny[1] <= 1e-4, "max abs " + tiny[1]);
        double[] sdxl = runCaseB(tmp, "--model", file, "--config", "sdxl");
        assertEquals(1, sdxl[0], "the sdxl preset does not fit the tiny checkpoint");
        assertTrue(Double.isNaN(sdxl[1]));
    }
}
