package io.lcmlora.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.io.SafeTensorsWriter;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code forward sampler} on the stored model outputs and noise of testdata/golden/samplers (diffusers 0.27.2). */
class ForwardSamplerCommandTest {
    static final Path GOLDEN = Path.of(System.getProperty("golden.dir"), "samplers", "cases.safetensors");

    /** Writes IN for a golden case, runs the CLI and returns the worst relative error of every prev_sample. */
    static double run(Path tmp, String name, int steps, String... args) throws Exception {
        Path in = tmp.resolve(name + ".in.safetensors");
        Path out = tmp.resolve(name + ".out.safetensors");
        try (SafeTensorsFile g = SafeTensorsFile.open(GOLDEN)) {
            SafeTensorsWriter w = new SafeTensorsWriter();
            var x = g.info(name + ".x_init");
            w.add("x_init", x.dtype(), x.shape(), g.bytes(name + ".x_init"));
            for (int i = 0; i < steps; i++) {
                for (String t : new String[] {"model_output", "noise"}) {
                    String k = name + ".step" + i + "." + t;
                    if (g.contains(k)) {
                        w.add(t + "." + i, g.info(k).dtype(), g.info(k).shape(), g.bytes(k));
                    }
                }
            }
            w.write(in);
            List<String> a = new ArrayList<>(List.of("sampler", "--inputs", in.toString(), "--output", out.toString()));
            a.addAll(List.of(args));
            StringWriter err = new StringWriter();
            int rc = new CommandLine(new ForwardCommand()).setErr(new PrintWriter(err)).execute(a.toArray(String[]::new));
            assertEquals(0, rc, err.toString());
            double worst = 0;
            try (SafeTensorsFile o = SafeTensorsFile.open(out)) {
                assertEquals(steps, o.doubles("timesteps").length);
                for (int i = 0; i < steps; i++) {
                    assertArrayEquals(g.info(name + ".step" + i + ".model_input").shape(), o.info("model_input." + i).shape());
                    worst = Math.max(worst, rel(g.floats(name + ".step" + i + ".model_input"), o.floats("model_input." + i)));
                    worst = Math.max(worst, rel(g.floats(name + ".step" + i + ".prev_sample"), o.floats("prev_sample." + i)));
                }
            }
            return worst;
        }
    }

    static double rel(float[] want, float[] got) {
        double scale = 0;
        double worst = 0;
        for (float w : want) {
            scale = Math.max(scale, Math.abs(w));
        }
        for (int i = 0; i < want.length; i++) {
            worst = Math.max(worst, Math.abs((double) want[i] - got[i]) / Math.max(Math.abs(want[i]), 1e-2 * scale));
        }
        return worst;
    }

    @Test
    void reproducesTcdEulerAndDdimTrajectories(@TempDir Path tmp) throws Exception {
        assertTrue(run(tmp, "tcd_eta0.3_4", 4, "--scheduler", "tcd", "--steps", "4", "--eta", "0.3") <= 1e-5);
        assertTrue(run(tmp, "tcd_eta1.0_1", 1, "--scheduler", "tcd", "--steps", "1", "--eta", "1.0") <= 1e-5);
        assertTrue(run(tmp, "euler_trailing_4", 4, "--scheduler", "euler", "--steps", "4", "--spacing", "trailing") <= 1e-5);
        assertTrue(run(tmp, "ddim_trailing_2", 2, "--scheduler", "ddim", "--steps", "2", "--spacing", "trailing") <= 1e-5);
        // custom timesteps equal to the standard 4-step TCD schedule give the same trajectory
        assertTrue(run(tmp, "tcd_eta0.3_4", 4, "--scheduler", "tcd", "--timesteps", "999,759,499,259") <= 1e-5);
        // the wrong gamma is far off: the comparison can fail
        assertFalse(run(tmp, "tcd_eta0.3_4", 4, "--scheduler", "tcd", "--steps", "4", "--eta", "0.5") <= 1e-3);
    }

    @Test
    void badOptionsAndInputsAreClearErrors(@TempDir Path tmp) throws Exception {
        Path in = tmp.resolve("in.safetensors");
        new SafeTensorsWriter().addFloats("x_init", new long[] {1, 4}, new float[4], io.lcmlora.io.DType.F32).write(in);
        String[][] cases = {
            {"--scheduler", "euler", "--steps", "4", "--eta", "0.3"},
            {"--scheduler", "lcm", "--steps", "4", "--spacing", "trailing"},
            {"--scheduler", "ddim", "--timesteps", "999,499"},
            {"--scheduler", "tcd", "--steps", "4", "--eta", "1.5"},
            {"--scheduler", "heun", "--steps", "4"},
            {"--scheduler", "lcm", "--steps", "2"},
        };
        String[] expect = {"eta", "spacing", "custom timesteps", "gamma", "heun", "model_output.0"};
        for (int c = 0; c < cases.length; c++) {
            List<String> a = new ArrayList<>(List.of("sampler", "--inputs", in.toString(), "--output", tmp.resolve("o").toString()));
            a.addAll(List.of(cases[c]));
            StringWriter err = new StringWriter();
            CommandLine cl = new CommandLine(new ForwardCommand()).setErr(new PrintWriter(err));
            cl.setExecutionExceptionHandler((e, line, parsed) -> {
                line.getErr().println(e.getMessage());
                return 2;
            });
            assertEquals(2, cl.execute(a.toArray(String[]::new)), String.join(" ", cases[c]));
            assertTrue(err.toString().contains(expect[c]), err.toString());
            assertFalse(Files.exists(tmp.resolve("o")));
        }
    }
}
