package io.lcmlora.train.loop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The scale sequence of torch's GradScaler (growth 2, backoff 0.5, interval 2000), in closed form. */
class LossScalerTest {
    @Test
    void halvesAndSkipsOnOverflowDoublesAfterTheGrowthInterval() {
        LossScaler s = LossScaler.dynamic(65536);
        assertTrue(s.skip(false));
        assertEquals(32768, s.scale());
        assertTrue(s.skip(false));
        assertEquals(16384, s.scale());
        for (int i = 1; i < LossScaler.GROWTH_INTERVAL; i++) {
            assertFalse(s.skip(true));
        }
        assertEquals(16384, s.scale(), "1999 finite updates: not yet");
        assertFalse(s.skip(true));
        assertEquals(32768, s.scale(), "the 2000th finite update in a row doubles");
        for (int i = 0; i < 1000; i++) {
            s.skip(true);
        }
        assertTrue(s.skip(false), "an overflow resets the run of finite updates");
        assertEquals(16384, s.scale());
        for (int i = 1; i < LossScaler.GROWTH_INTERVAL; i++) {
            s.skip(true);
        }
        assertEquals(16384, s.scale());
    }

    @Test
    void stopsBelowScaleOneAndNeverSkipsWithoutScaling() {
        LossScaler s = LossScaler.dynamic(2);
        assertTrue(s.skip(false));
        assertEquals(1, s.scale());
        assertThrows(IllegalStateException.class, () -> s.skip(false));
        LossScaler none = LossScaler.none();
        assertEquals(1, none.scale());
        for (int i = 0; i < 3 * LossScaler.GROWTH_INTERVAL; i++) {
            assertFalse(none.skip(true));
        }
        assertEquals(1, none.scale(), "no growth without scaling");
        assertThrows(IllegalStateException.class, () -> none.skip(false));
        assertThrows(IllegalArgumentException.class, () -> LossScaler.dynamic(0.5));
    }
}
