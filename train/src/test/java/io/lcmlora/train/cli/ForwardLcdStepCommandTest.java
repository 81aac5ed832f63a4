package io.lcmlora.train.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.io.SafeTensorsWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ForwardLcdStepCommandTest {
    static final Path GOLDEN = Path.of(System.getProperty("golden.dir"));

    @Test
    void goldenDrawsThroughTheCliReproduceTheReference(@TempDir Path tmp) throws Exception {
        goldenThroughTheCli(tmp);
    }

    @Test
    void withGradientCheckpointingTheCliStillReproducesTheReference(@TempDir Path tmp) throws Exception {
        goldenThroughTheCli(tmp, "--gradient-checkpointing", "true");
    }

    static void goldenThroughTheCli(Path tmp, String... extra) throws Exception {
        Path in = tmp.resolve("in.safetensors");
        Path out = tmp.resolve("out.safetensors");
        try (SafeTensorsFile g = SafeTensorsFile.open(GOLDEN.resolve("lcd_step/step.safetensors"))) {
            SafeTensorsWriter w = new SafeTensorsWriter();
            for (String n : new String[] {"latents", "noise", "index", "w", "prompt_embeds", "text_embeds", "time_ids"}) {
                var info = g.info(n);
                w.add(n, info.dtype(), info.shape(), g.bytes(n));
            }
            w.write(in);
            java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("forward", "lcd-step",
                    "--model", GOLDEN.resolve("unet").toString(),
                    "--lora-state", GOLDEN.resolve("lcd_step/lora_state.safetensors").toString(),
                    "--inputs", in.toString(), "--output", out.toString()));
            args.addAll(java.util.List.of(extra));
            int rc = Main.commandLine().execute(args.toArray(new String[0]));
            assertEquals(0, rc);
            try (SafeTensorsFile o = SafeTensorsFile.open(out)) {
                for (String loss : new String[] {"loss_huber", "loss_l2"}) {
                    float want = g.floats(loss)[0];
                    assertEquals(want, o.floats(loss)[0], want * 1e-5, loss);
                }
                String grad = "grad_huber.down_blocks.1.resnets.0.conv1.lora_A.weight";
                float[] a = o.floats(grad);
                float[] b = g.floats(grad);
                double max = 0;
                for (int i = 0; i < a.length; i++) {
                    max = Math.max(max, Math.abs(a[i] - b[i]));
                }
                assertTrue(max <= 1e-4, grad + " max abs " + max);
                assertTrue(o.contains("x_prev") && o.contains("target") && o.contains("grad_l2_total_norm"));
            }
        }
    }
}
