package io.lcmlora.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import io.lcmlora.nn.NoGrad;
import io.lcmlora.nn.Ops;
import java.util.Arrays;
import java.util.Locale;

/**
 * The startup micro-probe behind {@code tools/lcm}'s kernel choice: times the element-wise and normalisation kernels
 * whose speed depends on libtorch's CPU code path ({@code ATEN_CPU_CAPABILITY}): SiLU, exact GELU, group_norm,
 * layer_norm and softmax at UNet activation sizes, one thread. libtorch fixes the code path when it loads, so the
 * launcher runs this once per candidate path in a fresh JVM, keeps the fastest and caches the choice (libtorch 2.7.1's
 * AVX-512 SiLU and GELU were measured ~10x slower than its AVX2 ones on an AVX-512 CPU). Prints {@code total_ms=...}.
 *
 * <p>With the argument {@code gemm} it times libtorch's Linear (MKL's sgemm) at the UNets' shapes instead: the launcher
 * runs that with and without {@code tools/mkl-cpu-shim.c} preloaded, which lets MKL take its AVX-512 kernels on a
 * non-Intel CPU.
 */
public final class KernelProbe {
    private KernelProbe() {}

    /** Median milliseconds of one round of the probed kernels (after one warm-up round). */
    public static double probe(int rounds) {
        try (NDManager m = NDManager.newBaseManager(); NoGrad ng = NoGrad.open()) {
            NDArray x = m.randomNormal(new Shape(2, 160, 32, 32)); // [B, C, H, W] UNet level-1 activation
            NDArray t = m.randomNormal(new Shape(2, 1024, 320)); // [B, T, C] transformer tokens
            NDArray w = m.ones(new Shape(160));
            NDArray b = m.zeros(new Shape(160));
            NDArray lw = m.ones(new Shape(320));
            NDArray lb = m.zeros(new Shape(320));
            return medianMs(rounds, () -> {
                for (int k = 0; k < 4; k++) {
                    Ops.silu(x);
                    Ops.gelu(t);
                    Ops.groupNorm(x, 32, w, b, 1e-5);
                    Ops.layerNorm(t, lw, lb, 1e-5);
                    t.softmax(-1);
                }
            });
        }
    }

    /** Median wall milliseconds of {@code rounds} runs of {@code round}, each in its own scope, after one warm-up run. */
    private static double medianMs(int rounds, Runnable round) {
        double[] ms = new double[rounds];
        for (int r = -1; r < rounds; r++) {
            long s = System.nanoTime();
            try (NDScope scope = new NDScope()) {
                round.run();
            }
            if (r >= 0) {
                ms[r] = (System.nanoTime() - s) / 1e6;
            }
        }
        Arrays.sort(ms);
        return ms[rounds / 2];
    }

    /** Median milliseconds of one round of Linear layers at UNet token shapes [N, in] x [out, in] (after one warm-up). */
    public static double probeGemm(int rounds) {
        long[][] shapes = { // N, in, out: small/mid UNet projections, GEGLU and FF at batch 2-4, 32x32 latents
            {2048, 320, 320}, {512, 640, 5120}, {512, 2560, 640}, {1024, 128, 1024}, {1024, 512, 128}, {256, 256, 2048}};
        try (NDManager m = NDManager.newBaseManager(); NoGrad ng = NoGrad.open()) {
            NDArray[][] args = new NDArray[shapes.length][];
            for (int i = 0; i < shapes.length; i++) {
                long[] s = shapes[i];
                args[i] = new NDArray[] {m.randomNormal(new Shape(s[0], s[1])), m.randomNormal(new Shape(s[2], s[1])),
                    m.randomNormal(new Shape(s[2]))};
            }
            return medianMs(rounds, () -> {
                for (NDArray[] a : args) {
                    Ops.linear(a[0], a[1], a[2]);
                }
            });
        }
    }

    /** {@code KernelProbe} times the element-wise kernels, {@code KernelProbe gemm} the GEMMs. */
    public static void main(String[] args) {
        boolean gemm = args.length > 0 && "gemm".equals(args[0]);
        if (args.length > 1 || (args.length == 1 && !gemm)) {
            throw new IllegalArgumentException("KernelProbe: expected no argument or 'gemm', got " + String.join(" ", args));
        }
        System.out.println(String.format(Locale.ROOT, "total_ms=%.3f", gemm ? probeGemm(7) : probe(5)));
    }
}
