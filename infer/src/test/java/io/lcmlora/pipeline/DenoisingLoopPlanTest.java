package io.lcmlora.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lcmlora.schedule.NoiseSchedule;
import io.lcmlora.schedule.SamplerOptions;
import io.lcmlora.schedule.SchedulerConfig;
import io.lcmlora.schedule.SchedulerKind;
import org.junit.jupiter.api.Test;

/** The img2img strength rules of {@link DenoisingLoop} over a full grid (plans only, no model). */
class DenoisingLoopPlanTest {
    static final NoiseSchedule SDXL = NoiseSchedule.of(SchedulerConfig.sdxl());

    private static double[] plan(SchedulerKind kind, int steps, long[] custom, boolean img2img, double strength) {
        return DenoisingLoop.create(SDXL, new SamplerOptions(kind, steps, custom, null, null), img2img, strength).timesteps();
    }

    @Test
    void everyStrengthAndStepCountGivesAPlanOrAStrengthError() {
        for (SchedulerKind kind : SchedulerKind.values()) {
            for (int steps = 1; steps <= 8; steps++) {
                for (int k = 1; k <= 100; k++) {
                    double s = k / 100.0;
                    int expected = switch (kind) {
                        case LCM, TCD -> (int) (50 * s) >= steps ? steps : 0;
                        case DDIM, EULER -> (int) (steps * s);
                    };
                    if (expected == 0) {
                        int n = steps;
                        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                                () -> plan(kind, n, null, true, s), kind + " " + steps + " " + s);
                        assertTrue(e.getMessage().contains("strength"), e.getMessage());
                        continue;
                    }
                    double[] ts = plan(kind, steps, null, true, s);
                    assertEquals(expected, ts.length, kind + " " + steps + " " + s);
                    for (int i = 1; i < ts.length; i++) {
                        assertTrue(ts[i] < ts[i - 1]);
                    }
                }
            }
        }
    }

    @Test
    void examples() {
        // LCMScheduler's strength rule: 4 steps inside the lowest half of the distillation timesteps
        assertArrayEquals(new double[] {499, 379, 259, 139}, plan(SchedulerKind.LCM, 4, null, true, 0.5));
        assertArrayEquals(new double[] {499, 379, 259, 139}, plan(SchedulerKind.TCD, 4, null, true, 0.5));
        // get_timesteps: the last floor(4 * 0.5) = 2 of DDIM's [751, 501, 251, 1]
        assertArrayEquals(new double[] {251, 1}, plan(SchedulerKind.DDIM, 4, null, true, 0.5));
        assertArrayEquals(new double[] {251, 1}, plan(SchedulerKind.EULER, 4, null, true, 0.5));
        // custom LCM timesteps: the last floor(4 * 0.5) of them
        assertArrayEquals(new double[] {499, 249}, plan(SchedulerKind.LCM, 4, new long[] {999, 749, 499, 249}, true, 0.5));
        // strength is ignored for text-to-image
        assertArrayEquals(new double[] {999, 759, 499, 259}, plan(SchedulerKind.LCM, 4, null, false, 0.1));
    }
}
