package io.lcmlora.train.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ProgressReporterTest {
    @Test
    void plainLinesEveryNStepsWithEta() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        AtomicLong clock = new AtomicLong(0);
        ProgressReporter p = new ProgressReporter(new PrintStream(buf, true, StandardCharsets.UTF_8), false, 100, 20, 10,
                clock::get);
        for (int step = 21; step <= 100; step++) {
            clock.addAndGet(2_000_000_000L); // 2 s per step
            p.step(step, 0.5, 1e-4, 6.0);
        }
        String[] lines = buf.toString(StandardCharsets.UTF_8).split("\n");
        assertEquals(8, lines.length); // steps 30, 40, ..., 100
        // step 30: 10 steps in 20 s since the resume at 20 -> 70 steps left at 2 s = 140 s
        assertEquals("step 30/100 (30.0%) loss 0.500000 lr 1.000e-04 6.00 img/s elapsed 0:00:20 eta 0:02:20", lines[0]);
        assertTrue(lines[7].startsWith("step 100/100 (100.0%)"), lines[7]);
        assertTrue(lines[7].endsWith("eta 0:00:00"), lines[7]);
    }

    @Test
    void barRedrawsInPlace() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        AtomicLong clock = new AtomicLong(0);
        ProgressReporter p = new ProgressReporter(new PrintStream(buf, true, StandardCharsets.UTF_8), true, 4, 0, 1,
                clock::get);
        clock.set(1_000_000_000L);
        p.step(1, 0.25, 1e-4, 12.0);
        p.message("checkpoint saved");
        clock.set(4_000_000_000L);
        p.step(4, 0.125, 1e-4, 12.0);
        String s = buf.toString(StandardCharsets.UTF_8);
        assertTrue(s.startsWith("\r1/4 [=======>                      ]  25% loss 0.2500 lr 1.00e-04 12.00 img/s 0:00:01<0:00:03"), s);
        assertTrue(s.contains("\rcheckpoint saved\n"), s);
        assertTrue(s.endsWith("\r4/4 [==============================] 100% loss 0.1250 lr 1.00e-04 12.00 img/s 0:00:04<0:00:00\n"), s);
        assertEquals("?:??:??", ProgressReporter.clock(Double.NaN));
        assertEquals("27:46:40", ProgressReporter.clock(100000));
    }

    @Test
    void countsThatJumpPrintOnceForEachMultipleCrossed() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        AtomicLong clock = new AtomicLong(0);
        ProgressReporter p = new ProgressReporter(new PrintStream(buf, true, StandardCharsets.UTF_8), false, "images", 20,
                4, 5, clock::get);
        for (long done = 7; done <= 20; done += 3) { // 7, 10, 13, 16, 19, then the last batch of 1
            clock.addAndGet(3_000_000_000L); // 1 s per image
            p.update(done, "lcm-4steps");
        }
        clock.addAndGet(1_000_000_000L);
        p.update(20, "");
        String[] lines = buf.toString(StandardCharsets.UTF_8).split("\n");
        // 7 crosses 5, 10 crosses 10, 13 nothing, 16 crosses 15, 19 nothing, 20 is the end
        assertEquals(4, lines.length);
        // 3 images in 3 s since the resume at 4 -> 13 left at 1 s
        assertEquals("images 7/20 (35.0%) lcm-4steps elapsed 0:00:03 eta 0:00:13", lines[0]);
        assertEquals("images 20/20 (100.0%) elapsed 0:00:16 eta 0:00:00", lines[3]);
    }
}
