package io.lcmlora.train.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.lcmlora.engine.DeviceSpec;
import io.lcmlora.engine.EngineFeatures;
import io.lcmlora.engine.Precision;
import io.lcmlora.train.distill.OneEngineThread;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The CPU half of tools/gpu-check.sh: the same code at tiny sizes. The fp32 parity rows must reproduce the golden
 * CPU outputs (the numbers the GPU rows are read against), and every speed section must produce its rows.
 */
@ExtendWith(OneEngineThread.class)
class GpuCheckTest {
    static final Path GOLDEN = Path.of(System.getProperty("golden.dir"));

    @Test
    void cpuHalfMatchesTheGoldenOutputsAndRunsEverySection() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        List<GpuCheck.Row> rows = GpuCheck.run(new GpuCheck.Options(DeviceSpec.parse("cpu"), true, GOLDEN, 2, 600, true),
                new PrintStream(buf, true));
        String log = buf.toString();
        System.out.println(log);
        int parity = 0;
        for (GpuCheck.Row r : rows) {
            if (!r.dtype().equals("fp32") || Double.isNaN(r.rel())) {
                continue;
            }
            parity++;
            double tol = r.check().contains("grads") ? 1e-3 : 1e-4;
            assertTrue(r.rel() <= tol, r.check() + ": " + r.result());
        }
        assertEquals(8, parity, "unet, vae x2, text encoders x2, lcd losses x2, lcd grads:\n" + log);
        for (String section : new String[] {"tiny unet 16x16 forward", "tiny unet 16x16 forward+backward",
                "lcd step 128 px rank 4 checkpointing=false", "4-step sampling 128 px (UNet only)",
                "4-step sampling 128 px + VAE decode (fp32)"}) {
            GpuCheck.Row r = rows.stream().filter(x -> x.check().equals(section)).findFirst().orElseThrow(
                    () -> new AssertionError("no row " + section + " in\n" + log));
            assertFalse(r.result().startsWith("error"), section + ": " + r.result());
        }
        // the checkpointing row is measured once distill.gradient_checkpointing exists, else names the key
        GpuCheck.Row ckpt = rows.stream().filter(x -> x.check().contains("checkpointing=true")).findFirst().orElseThrow();
        assertTrue(!ckpt.result().startsWith("error") || ckpt.result().contains("gradient_checkpointing"), ckpt.result());
        assertTrue(log.contains("TFLOP/s"), log);
    }

    @Test
    void precisionsFollowTheDeviceAndTheJni() {
        List<Precision> cpu = GpuCheck.precisions(Device.cpu());
        assertEquals(EngineFeatures.bf16() ? List.of(Precision.FP32, Precision.BF16) : List.of(Precision.FP32), cpu);
        assertTrue(GpuCheck.precisions(Device.gpu()).contains(Precision.FP16));
    }

    @Test
    void errorIsMaxAbsAndRelativeToTheGoldenMax() {
        try (var m = ai.djl.ndarray.NDManager.newBaseManager()) {
            double[] e = GpuCheck.error(m.create(new float[] {1f, 2.5f, -4f}), m.create(new float[] {1f, 2f, -5f}));
            assertEquals(1.0, e[0], 1e-7);
            assertEquals(0.2, e[1], 1e-7);
            assertEquals(Double.POSITIVE_INFINITY, GpuCheck.error(m.create(new float[] {Float.NaN}), m.create(new float[] {1f}))[0]);
        }
    }

    @Test
    void nvidiaSmiLinesAreSummedForThisProcessOnly() {
        assertEquals(1234.0, GpuMemory.addIfOurs("42, 1234", 42, Double.NaN));
        assertEquals(1300.0, GpuMemory.addIfOurs("42, 66", 42, 1234.0));
        assertEquals(10.0, GpuMemory.addIfOurs("43, 66", 42, 10.0));
        assertTrue(Double.isNaN(GpuMemory.addIfOurs("No running processes found", 42, Double.NaN)));
        assertEquals("n/a", GpuMemory.format(Double.NaN));
        assertEquals("1.5 GiB", GpuMemory.format(1536));
    }
}
