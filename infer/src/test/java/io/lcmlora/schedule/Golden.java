package io.lcmlora.schedule;

import io.lcmlora.io.SafeTensorsFile;
import java.io.IOException;
import java.nio.file.Path;

/** Opens golden files under testdata/golden (surefire sets golden.dir) and compares arrays. */
final class Golden {
    private Golden() {}

    static SafeTensorsFile open(String relative) throws IOException {
        return SafeTensorsFile.open(Path.of(System.getProperty("golden.dir", "../testdata/golden")).resolve(relative));
    }

    static double maxAbsDiff(float[] a, float[] b) {
        check(a.length, b.length);
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs((double) a[i] - b[i]));
        }
        return m;
    }

    static double maxAbsDiff(double[] a, double[] b) {
        check(a.length, b.length);
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }

    /** Largest distance in float32 units in the last place. */
    static long maxUlps(float[] a, float[] b) {
        check(a.length, b.length);
        long m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs((long) ordered(a[i]) - ordered(b[i])));
        }
        return m;
    }

    private static int ordered(float f) {
        int bits = Float.floatToIntBits(f);
        return bits < 0 ? Integer.MIN_VALUE - bits : bits;
    }

    private static void check(int a, int b) {
        if (a != b) {
            throw new AssertionError("lengths differ: " + a + " vs " + b);
        }
    }
}
