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

    /**
     * A scaler restored from {@link LossScaler#state()} continues the sequence of the original: the same skips, the
     * same doubling 2000 finite updates after the last change, counted across the save.
     */
    @Test
    void aRestoredStateContinuesTheScaleSequence() {
        LossScaler a = LossScaler.dynamic(65536);
        a.skip(false);
        for (int i = 0; i < 1500; i++) {
            a.skip(true);
        }
        var saved = com.google.gson.JsonParser.parseString(a.state().toString()).getAsJsonObject(); // through JSON text
        assertEquals(1500, a.growthTracker());
        LossScaler b = LossScaler.dynamic(65536);
        assertTrue(b.restore(saved, "state.json: state.loss_scale"));
        assertEquals(32768, b.scale());
        assertEquals(1500, b.growthTracker());
        for (int i = 1; i < 500; i++) {
            assertFalse(b.skip(true));
        }
        assertEquals(32768, b.scale(), "1999 finite updates in a row, 1500 of them before the save: not yet");
        b.skip(true);
        assertEquals(65536, b.scale(), "the 2000th doubles, as in the uninterrupted scaler");

        LossScaler none = LossScaler.none();
        assertFalse(none.restore(saved, "x"), "no scaling: a saved fp16 scale is not used");
        assertEquals(1, none.scale());
        assertFalse(LossScaler.dynamic(8).restore(LossScaler.none().state(), "x"), "saved without scaling");

        var bad = saved.deepCopy();
        bad.addProperty("growth_tracker", 2000);
        var e = assertThrows(IllegalArgumentException.class, () -> LossScaler.dynamic(8).restore(bad, "f: state.loss_scale"));
        assertEquals("f: state.loss_scale.growth_tracker: expected an integer in [0, 2000), got 2000.0", e.getMessage());
        bad.addProperty("scale", "big");
        e = assertThrows(IllegalArgumentException.class, () -> LossScaler.dynamic(8).restore(bad, "f: state.loss_scale"));
        assertEquals("f: state.loss_scale.scale: expected a number, got \"big\"", e.getMessage());
    }
}
