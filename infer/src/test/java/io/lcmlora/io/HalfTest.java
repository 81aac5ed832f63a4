package io.lcmlora.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link Half} against two independent references: the closed form (-1)^s 2^(e-15) (1 + m/1024) in double, and
 * libtorch's own c10::Half conversions (through the engine), exhaustively for all 65536 halves and for every
 * rounding midpoint between neighbouring halves.
 */
class HalfTest {
    /** The value of a binary16 bit pattern, computed from the definition in double. */
    private static double reference(int h) {
        int s = (h >>> 15) & 1;
        int e = (h >>> 10) & 0x1F;
        int m = h & 0x3FF;
        double sign = s == 1 ? -1 : 1;
        if (e == 0x1F) {
            return m == 0 ? sign * Double.POSITIVE_INFINITY : Double.NaN;
        }
        return e == 0 ? sign * Math.scalb((double) m, -24) : sign * Math.scalb(1.0 + m / 1024.0, e - 15);
    }

    @Test
    void allHalvesToFloatMatchTheDefinitionAndRoundTrip() {
        int nans = 0;
        for (int h = 0; h < 65536; h++) {
            float f = Half.toFloat((short) h);
            double ref = reference(h);
            if (Double.isNaN(ref)) {
                nans++;
                assertTrue(Float.isNaN(f), "h=" + Integer.toHexString(h));
                short back = Half.fromFloat(f);
                assertTrue((back & 0x7C00) == 0x7C00 && (back & 0x3FF) != 0 && (back & 0x8000) == (h & 0x8000),
                        "NaN stays NaN with its sign: " + Integer.toHexString(h));
                continue;
            }
            assertEquals(ref, f, 0.0, "h=" + Integer.toHexString(h));
            assertEquals(Double.doubleToRawLongBits(ref) >>> 63, (long) (Float.floatToRawIntBits(f) >>> 31), "sign of zero");
            assertEquals((short) h, Half.fromFloat(f), "round trip h=" + Integer.toHexString(h));
        }
        assertEquals(2 * 1023, nans);
    }

    /**
     * Sorted non-negative finite halves as doubles, index = bit pattern, plus 65536 at 0x7C00 (the infinity
     * pattern: rounding there is an overflow, as IEEE rounds with an unbounded exponent).
     */
    private static double[] positiveHalves() {
        double[] v = new double[0x7C01];
        for (int h = 0; h < 0x7C00; h++) {
            v[h] = reference(h);
        }
        v[0x7C00] = 65536.0;
        return v;
    }

    /** Round-to-nearest-even by search over the half values; 65520 and above overflow to infinity. */
    private static int referenceFromFloat(float f, double[] pos) {
        int sign = Float.floatToRawIntBits(f) < 0 ? 0x8000 : 0;
        double a = Math.abs((double) f);
        if (Float.isNaN(f)) {
            return -1;
        }
        if (a >= 65536.0) {
            return sign | 0x7C00;
        }
        int i = Arrays.binarySearch(pos, a);
        if (i >= 0) {
            return sign | i;
        }
        int hi = -i - 1;
        int lo = hi - 1;
        double dl = a - pos[lo];
        double dh = pos[hi] - a;
        int pick = dl < dh ? lo : dh < dl ? hi : ((lo & 1) == 0 ? lo : hi);
        return sign | pick;
    }

    @Test
    void fromFloatRoundsToNearestEvenAtEveryMidpoint() {
        double[] pos = positiveHalves();
        int checked = 0;
        for (int h = 0; h < 0x7C00; h++) {
            double next = pos[h + 1];
            float mid = (float) ((pos[h] + next) / 2);
            assertEquals((pos[h] + next) / 2, mid, 0.0, "midpoints are floats");
            for (float f : new float[] {mid, Math.nextDown(mid), Math.nextUp(mid), -mid, -Math.nextUp(mid)}) {
                assertEquals(referenceFromFloat(f, pos), Half.fromFloat(f) & 0xFFFF, "f=" + f);
                checked++;
            }
        }
        assertTrue(checked > 150_000);
        assertEquals(0x7C00, Half.fromFloat(65520f) & 0xFFFF, "the midpoint above 65504 ties to even = overflow");
        assertEquals(0x7BFF, Half.fromFloat(Math.nextDown(65520f)) & 0xFFFF);
        assertEquals(0x0000, Half.fromFloat(0x1p-25f) & 0xFFFF, "half the smallest subnormal ties to zero");
        assertEquals(0x0001, Half.fromFloat(Math.nextUp(0x1p-25f)) & 0xFFFF);
        assertEquals(0x0002, Half.fromFloat(0x3p-25f) & 0xFFFF, "1.5 subnormal units tie to 2");
        assertEquals(0xFC00, Half.fromFloat(Float.NEGATIVE_INFINITY) & 0xFFFF);
        assertEquals(0x8000, Half.fromFloat(-0f) & 0xFFFF);
        assertEquals(0x0000, Half.fromFloat(Float.MIN_VALUE) & 0xFFFF, "float subnormals underflow to zero");
    }

    @Test
    void randomFloatsMatchTheSearchReference() {
        double[] pos = positiveHalves();
        SplittableRandom r = new SplittableRandom(7);
        for (int i = 0; i < 2_000_000; i++) {
            float f = Float.intBitsToFloat(r.nextInt());
            if (!Float.isNaN(f)) {
                assertEquals(referenceFromFloat(f, pos), Half.fromFloat(f) & 0xFFFF, "f=" + f);
            }
        }
    }

    /** libtorch's c10::Half conversions agree bit for bit in both directions. */
    @Test
    void agreesWithTheEngine() {
        ByteBuffer all = ByteBuffer.allocateDirect(65536 * 2).order(ByteOrder.nativeOrder());
        for (int h = 0; h < 65536; h++) {
            all.putShort((short) h);
        }
        all.flip();
        double[] pos = positiveHalves();
        float[] probes = new float[0x7C00 * 3];
        for (int h = 0; h < 0x7C00; h++) {
            float mid = (float) ((pos[h] + pos[h + 1]) / 2);
            probes[3 * h] = mid;
            probes[3 * h + 1] = -Math.nextDown(mid);
            probes[3 * h + 2] = Math.nextUp(mid);
        }
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray halves = m.create(all, new Shape(65536), DataType.FLOAT16);
            float[] engine = halves.toType(DataType.FLOAT32, false).toFloatArray();
            for (int h = 0; h < 65536; h++) {
                float mine = Half.toFloat((short) h);
                if (Float.isNaN(engine[h])) {
                    assertTrue(Float.isNaN(mine));
                } else {
                    assertEquals(Float.floatToRawIntBits(engine[h]), Float.floatToRawIntBits(mine), "h=" + Integer.toHexString(h));
                }
            }
            ByteBuffer back = m.create(probes).toType(DataType.FLOAT16, false).toByteBuffer().order(ByteOrder.nativeOrder());
            for (int i = 0; i < probes.length; i++) {
                assertEquals(back.getShort(2 * i), Half.fromFloat(probes[i]), "f=" + probes[i]);
            }
        }
    }

    @Test
    void bf16RoundsToNearestEven() {
        assertEquals(0x3F80, SafeTensorsWriter.toBf16(1f) & 0xFFFF);
        assertEquals(0x3F80, SafeTensorsWriter.toBf16(Float.intBitsToFloat(0x3F808000)) & 0xFFFF, "tie to even (down)");
        assertEquals(0x3F82, SafeTensorsWriter.toBf16(Float.intBitsToFloat(0x3F818000)) & 0xFFFF, "tie to even (up)");
        assertEquals(0x3F81, SafeTensorsWriter.toBf16(Float.intBitsToFloat(0x3F808001)) & 0xFFFF);
        assertEquals(0x7F80, SafeTensorsWriter.toBf16(Float.MAX_VALUE) & 0xFFFF, "overflow rounds to infinity");
        short nan = SafeTensorsWriter.toBf16(Float.NaN);
        assertTrue((nan & 0x7F80) == 0x7F80 && (nan & 0x7F) != 0);
        short snan = SafeTensorsWriter.toBf16(Float.intBitsToFloat(0xFF800001));
        assertTrue((snan & 0xFF80) == 0xFF80 && (snan & 0x7F) != 0, "a NaN whose payload is in the low bits stays NaN");
    }
}
