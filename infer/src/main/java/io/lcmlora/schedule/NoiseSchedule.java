package io.lcmlora.schedule;

import ai.djl.ndarray.NDArray;

/**
 * The DDPM noise schedule of diffusers v0.25.1 ({@code DDPMScheduler}/{@code DDIMScheduler}/{@code LCMScheduler}
 * {@code __init__}) in float32, as the reference computes it:
 * <ol>
 *   <li>betas = {@code torch.linspace(start, end, N, dtype=float32)} ({@code scaled_linear}: of the square roots,
 *       then squared in float32). See {@link #torchLinspace}: it reproduces the reference build's kernel bit for
 *       bit; the plain float64 formula {@code (start + i*(end-start)/(N-1))^2} differs by up to 1.81e-9.</li>
 *   <li>alphas = 1 - betas (float32).</li>
 *   <li>alphas_cumprod = cumprod(alphas): torch accumulates in float64 and rounds each prefix to float32 (a float32
 *       running product is not the same).</li>
 * </ol>
 */
public final class NoiseSchedule {
    private final SchedulerConfig config;
    private final float[] betas;
    private final float[] alphas;
    private final float[] alphasCumprod;

    private NoiseSchedule(SchedulerConfig config) {
        this.config = config;
        int n = config.numTrainTimesteps();
        // 1. betas
        betas = switch (config.betaSchedule()) {
            case LINEAR -> torchLinspace((float) config.betaStart(), (float) config.betaEnd(), n);
            case SCALED_LINEAR -> {
                float[] r = torchLinspace((float) Math.sqrt(config.betaStart()), (float) Math.sqrt(config.betaEnd()), n);
                for (int i = 0; i < n; i++) {
                    r[i] = r[i] * r[i];
                }
                yield r;
            }
        };
        // 2. alphas, 3. alphas_cumprod
        alphas = new float[n];
        alphasCumprod = new float[n];
        double prod = 1.0;
        for (int i = 0; i < n; i++) {
            alphas[i] = 1f - betas[i];
            prod *= alphas[i];
            alphasCumprod[i] = (float) prod;
        }
    }

    public static NoiseSchedule of(SchedulerConfig config) {
        return new NoiseSchedule(config);
    }

    /**
     * {@code torch.linspace(start, end, steps, dtype=float32)} on CPU as the reference (torch 1.13, AVX2) computes
     * it: step = (end - start) / (steps - 1) in float; indices below steps/2 count up from start, the others down
     * from end; values come in 8-lane vectors whose base is one fused multiply-add ({@code start + step*i} or
     * {@code end - step*(steps-1-i)}, as the compiler contracted it) plus {@code lane*step}; the last
     * {@code steps mod 16} values come from the scalar loop. Builds with other vector widths can differ by 1 ulp.
     */
    public static float[] torchLinspace(float start, float end, int steps) {
        if (steps == 1) {
            return new float[] {start};
        }
        float step = (end - start) / (float) (steps - 1);
        int halfway = steps / 2;
        float[] out = new float[steps];
        int vectorized = steps / 16 * 16;
        for (int base = 0; base < vectorized; base += 8) {
            float b = base < halfway ? Math.fma(step, (float) base, start) : Math.fma(-step, (float) (steps - base - 1), end);
            for (int lane = 0; lane < 8; lane++) {
                out[base + lane] = b + lane * step;
            }
        }
        for (int i = vectorized; i < steps; i++) {
            out[i] = i < halfway ? Math.fma(step, (float) i, start) : Math.fma(-step, (float) (steps - i - 1), end);
        }
        return out;
    }

    public SchedulerConfig config() {
        return config;
    }

    public int numTrainTimesteps() {
        return alphasCumprod.length;
    }

    public float[] betas() {
        return betas.clone();
    }

    public float[] alphas() {
        return alphas.clone();
    }

    public float[] alphasCumprod() {
        return alphasCumprod.clone();
    }

    /** alpha-bar at a training timestep. */
    public float alphaCumprod(long t) {
        return alphasCumprod[index(t)];
    }

    /** alpha-bar "before" t = 0: 1 with set_alpha_to_one, else alphas_cumprod[0] (SDXL: 0.99915). */
    public float finalAlphaCumprod() {
        return config.setAlphaToOne() ? 1f : alphasCumprod[0];
    }

    /** alpha-bar of a previous timestep, or {@link #finalAlphaCumprod()} when it is negative (diffusers' rule). */
    public float alphaCumprodPrev(long prevT) {
        return prevT >= 0 ? alphaCumprod(prevT) : finalAlphaCumprod();
    }

    /** The training script's {@code alpha_schedule = sqrt(alphas_cumprod)} (float32). */
    public float[] alphaSchedule() {
        float[] r = new float[alphasCumprod.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = (float) Math.sqrt(alphasCumprod[i]);
        }
        return r;
    }

    /** The training script's {@code sigma_schedule = sqrt(1 - alphas_cumprod)} (float32). */
    public float[] sigmaSchedule() {
        float[] r = new float[alphasCumprod.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = (float) Math.sqrt(1f - alphasCumprod[i]);
        }
        return r;
    }

    int index(long t) {
        if (t < 0 || t >= alphasCumprod.length) {
            throw new IllegalArgumentException("timestep " + t + " is outside [0, " + (alphasCumprod.length - 1) + "]");
        }
        return (int) t;
    }

    /** sqrt(alpha-bar_t) per sample (float32, as {@code alphas_cumprod[t] ** 0.5}). */
    public float[] sqrtAlphaCumprod(long[] timesteps) {
        float[] r = new float[timesteps.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = (float) Math.sqrt(alphaCumprod(timesteps[i]));
        }
        return r;
    }

    /** sqrt(1 - alpha-bar_t) per sample (float32, as {@code (1 - alphas_cumprod[t]) ** 0.5}). */
    public float[] sqrtOneMinusAlphaCumprod(long[] timesteps) {
        float[] r = new float[timesteps.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = (float) Math.sqrt(1f - alphaCumprod(timesteps[i]));
        }
        return r;
    }

    /**
     * DDPM {@code add_noise}: {@code sqrt(a_t) * x0 + sqrt(1 - a_t) * noise} per sample; x0 and noise are flat
     * [B, ...] buffers with one timestep per sample.
     */
    public float[] addNoise(float[] x0, float[] noise, long[] timesteps) {
        if (x0.length != noise.length) {
            throw new IllegalArgumentException("add_noise: sample has " + x0.length + " values, noise " + noise.length);
        }
        int per = Coefficients.perSample(x0.length, timesteps.length, "add_noise");
        float[] a = sqrtAlphaCumprod(timesteps);
        float[] s = sqrtOneMinusAlphaCumprod(timesteps);
        float[] out = new float[x0.length];
        for (int i = 0; i < out.length; i++) {
            int b = i / per;
            out[i] = a[b] * x0[i] + s[b] * noise[i];
        }
        return out;
    }

    /** DDPM {@code add_noise} on engine arrays [B, ...] (coefficients in the sample's dtype, graph-safe). */
    public NDArray addNoise(NDArray x0, NDArray noise, long[] timesteps) {
        if (x0.getShape().dimension() == 0 || x0.getShape().get(0) != timesteps.length) {
            throw new IllegalArgumentException("add_noise: sample shape " + x0.getShape() + " needs " + timesteps.length
                    + " as its batch size (one timestep per sample)");
        }
        try (NDArray a = Coefficients.column(x0, sqrtAlphaCumprod(timesteps));
                NDArray s = Coefficients.column(x0, sqrtOneMinusAlphaCumprod(timesteps))) {
            return x0.mul(a).add(noise.mul(s));
        }
    }
}
