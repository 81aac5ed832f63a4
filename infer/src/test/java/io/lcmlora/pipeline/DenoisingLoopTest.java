package io.lcmlora.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.nn.Ops;
import io.lcmlora.schedule.NoiseSchedule;
import io.lcmlora.schedule.SamplerOptions;
import io.lcmlora.schedule.SchedulerConfig;
import io.lcmlora.schedule.SchedulerKind;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The pipeline's loop against diffusers' LCM sampling loop with a fake model (schedulers/lcm_trajectory). */
class DenoisingLoopTest {
    static final Path GOLDEN = Path.of(System.getProperty("golden.dir"));

    @Test
    void lcmLoopReproducesTheGoldenTrajectory() throws Exception {
        try (NDManager m = NDManager.newBaseManager();
                SafeTensorsFile g = SafeTensorsFile.open(GOLDEN.resolve("schedulers/lcm_trajectory.safetensors"))) {
            DenoisingLoop loop = DenoisingLoop.create(NoiseSchedule.of(SchedulerConfig.sdxl()),
                    SamplerOptions.of(SchedulerKind.LCM, 4), false, 1.0);
            assertArrayEquals(java.util.Arrays.stream(g.longs("timesteps")).asDoubleStream().toArray(), loop.timesteps());
            // eps(x, t) = 0.8 tanh(x) + 0.05 cos(t / 100), the golden fake model
            DenoisingLoop.Denoiser fake = (x, t) -> Ops.addScalar(Ops.mulScalar(x.tanh(), 0.8), 0.05 * Math.cos(t / 100.0));
            DenoisingLoop.NoiseSource recorded = (i, like) -> {
                try {
                    return g.load("step" + i + "_noise", like.getManager());
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            };
            int[] seen = new int[1];
            NDArray out = loop.run(g.load("init_latents", m), fake, recorded, (label, done, total) -> seen[0] = done, "test");
            NDArray want = g.load("final", m);
            float err = out.sub(want).abs().max().getFloat();
            assertTrue(err < 1e-5, "max |loop - golden final| = " + err);
            assertTrue(seen[0] == 4);
        }
    }
}
