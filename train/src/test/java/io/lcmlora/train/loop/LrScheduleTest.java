package io.lcmlora.train.loop;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.lcmlora.train.config.OptimConfig.Schedule;
import org.junit.jupiter.api.Test;

class LrScheduleTest {
    @Test
    void constantWithWarmupIsLinearThenFlat() {
        LrSchedule s = new LrSchedule(1e-4, Schedule.CONSTANT, 10, 100);
        assertEquals(0.0, s.lr(0)); // torch LambdaLR: the first update uses factor(0)
        assertEquals(1e-5, s.lr(1), 1e-20);
        assertEquals(9e-5, s.lr(9), 1e-20);
        assertEquals(1e-4, s.lr(10));
        assertEquals(1e-4, s.lr(1000));
        LrSchedule flat = new LrSchedule(1e-4, Schedule.CONSTANT, 0, 100);
        assertEquals(1e-4, flat.lr(0));
    }

    @Test
    void cosineMatchesTheClosedForm() {
        LrSchedule s = new LrSchedule(2e-4, Schedule.COSINE, 20, 120);
        assertEquals(2e-4 * 5 / 20.0, s.lr(5), 1e-18);
        assertEquals(2e-4, s.lr(20), 1e-18);
        // progress 0.5 -> 0.5 * (1 + cos(pi/2)) = 0.5
        assertEquals(1e-4, s.lr(70), 1e-18);
        // progress 0.25 -> 0.5 * (1 + cos(pi/4))
        assertEquals(2e-4 * 0.5 * (1 + Math.sqrt(0.5)), s.lr(45), 1e-18);
        assertEquals(0.0, s.lr(120), 1e-20);
        // Past the end diffusers' formula is not clamped to 0: progress 4.8 -> 0.5 * (1 + cos(4.8 pi)).
        assertEquals(2e-4 * 0.5 * (1 + Math.cos(4.8 * Math.PI)), s.lr(500), 1e-18);
    }
}
