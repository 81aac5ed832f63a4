package io.lcmlora.train.loop;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

/**
 * A seeded random generator whose whole state is four longs, so a checkpoint can save it and a resumed run draws
 * exactly the same numbers (the engine's RNG state cannot be saved). xoshiro256** (Blackman and Vigna, 2018) seeded
 * through SplitMix64; Gaussians by Box-Muller with {@link StrictMath}, so the draws are the same on every JVM and
 * machine. Use one instance per purpose ({@link #stream}: data order, timesteps, w, noise), so adding draws to one
 * purpose does not shift the others.
 */
public final class Rng {
    private long s0;
    private long s1;
    private long s2;
    private long s3;

    private Rng(long s0, long s1, long s2, long s3) {
        if ((s0 | s1 | s2 | s3) == 0) {
            throw new IllegalArgumentException("xoshiro256 state must not be all zero");
        }
        this.s0 = s0;
        this.s1 = s1;
        this.s2 = s2;
        this.s3 = s3;
    }

    public static Rng seeded(long seed) {
        long[] sm = {seed};
        return new Rng(splitMix(sm), splitMix(sm), splitMix(sm), splitMix(sm));
    }

    /** An independent stream for one purpose: the seed mixed with the name's FNV-1a hash. */
    public static Rng stream(long seed, String name) {
        long h = 0xcbf29ce484222325L;
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xff)) * 0x100000001b3L;
        }
        long[] sm = {seed ^ h};
        splitMix(sm);
        return seeded(sm[0] ^ Long.rotateLeft(h, 32));
    }

    private static long splitMix(long[] state) {
        long z = (state[0] += 0x9e3779b97f4a7c15L);
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    public long nextLong() {
        long result = Long.rotateLeft(s1 * 5, 7) * 9;
        long t = s1 << 17;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = Long.rotateLeft(s3, 45);
        return result;
    }

    /** Uniform in [0, bound), unbiased (Lemire's multiply-and-reject). */
    public int nextInt(int bound) {
        if (bound <= 0) {
            throw new IllegalArgumentException("bound must be positive, got " + bound);
        }
        long m = (nextLong() >>> 32) * bound;
        long low = m & 0xffffffffL;
        if (low < bound) {
            long threshold = (0x100000000L - bound) % bound;
            while (low < threshold) {
                m = (nextLong() >>> 32) * bound;
                low = m & 0xffffffffL;
            }
        }
        return (int) (m >>> 32);
    }

    /** Uniform in [0, 1) with 53 random bits. */
    public double nextDouble() {
        return (nextLong() >>> 11) * 0x1.0p-53;
    }

    /** Uniform in [lo, hi); lo when they are equal. */
    public double uniform(double lo, double hi) {
        return lo + (hi - lo) * nextDouble();
    }

    public boolean nextBoolean() {
        return nextLong() < 0;
    }

    /** One standard normal (Box-Muller; the pair's second value is discarded so the state stays four longs). */
    public double nextGaussian() {
        double u1 = 1.0 - nextDouble(); // (0, 1]
        double u2 = nextDouble();
        return StrictMath.sqrt(-2.0 * StrictMath.log(u1)) * StrictMath.cos(2.0 * StrictMath.PI * u2);
    }

    /** Fills with standard normals, two per Box-Muller pair. */
    public void fillGaussian(float[] out) {
        for (int i = 0; i < out.length; i += 2) {
            double u1 = 1.0 - nextDouble();
            double u2 = nextDouble();
            double r = StrictMath.sqrt(-2.0 * StrictMath.log(u1));
            double a = 2.0 * StrictMath.PI * u2;
            out[i] = (float) (r * StrictMath.cos(a));
            if (i + 1 < out.length) {
                out[i + 1] = (float) (r * StrictMath.sin(a));
            }
        }
    }

    /** A float32 array of standard normals drawn here (not by the engine), so resumed runs get the same noise. */
    public NDArray randn(NDManager manager, Shape shape) {
        float[] v = new float[Math.toIntExact(shape.size())];
        fillGaussian(v);
        return manager.create(v, shape);
    }

    /** Fisher-Yates shuffle in place. */
    public void shuffle(int[] a) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }

    /** A uniformly random permutation of 0..n-1. */
    public int[] permutation(int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        shuffle(p);
        return p;
    }

    public Rng copy() {
        return new Rng(s0, s1, s2, s3);
    }

    /** The state as 64 hex digits (what checkpoints store). */
    public String state() {
        HexFormat hex = HexFormat.of();
        return hex.toHexDigits(s0) + hex.toHexDigits(s1) + hex.toHexDigits(s2) + hex.toHexDigits(s3);
    }

    public static Rng fromState(String state) {
        if (state == null || state.length() != 64) {
            throw new IllegalArgumentException("an Rng state is 64 hex digits, got " + (state == null ? "null" : "'" + state + "'"));
        }
        try {
            return new Rng(HexFormat.fromHexDigitsToLong(state, 0, 16), HexFormat.fromHexDigitsToLong(state, 16, 32),
                    HexFormat.fromHexDigitsToLong(state, 32, 48), HexFormat.fromHexDigitsToLong(state, 48, 64));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("an Rng state is 64 hex digits, got '" + state + "'", e);
        }
    }

    @Override
    public String toString() {
        return "Rng[" + state() + "]";
    }
}
