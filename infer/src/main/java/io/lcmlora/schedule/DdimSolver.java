package io.lcmlora.schedule;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;

/**
 * The {@code DDIMSolver} of train_lcm_distill_lora_sdxl.py (diffusers v0.25.1): the distillation's coarse DDIM
 * grid and its one-step solver, with the script's dtypes.
 * <ul>
 *   <li>ddim_timesteps = round([1, ..., M] * (N / M)) - 1 (SDXL, M = 50: 19, 39, ..., 999);</li>
 *   <li>ddim_alpha_cumprods = alphas_cumprod[ddim_timesteps] (float32);</li>
 *   <li>ddim_alpha_cumprods_prev = [alphas_cumprod[0]] + alphas_cumprod[ddim_timesteps[:-1]] as <b>float64</b> (the
 *       script builds it with {@code np.asarray} of Python floats);</li>
 *   <li>ddim_step(x0, eps, i) = sqrt(a_prev[i]) * x0 + sqrt(1 - a_prev[i]) * eps, evaluated in float64 (the float32
 *       inputs are promoted), which the training loop then casts to float32.</li>
 * </ul>
 */
public final class DdimSolver {
    private final long[] ddimTimesteps;
    private final float[] ddimAlphaCumprods;
    private final double[] ddimAlphaCumprodsPrev;

    public DdimSolver(NoiseSchedule schedule, int numDdimTimesteps) {
        int n = schedule.numTrainTimesteps();
        if (numDdimTimesteps < 1 || numDdimTimesteps > n) {
            throw new IllegalArgumentException("num_ddim_timesteps " + numDdimTimesteps + " must be in [1, " + n + "]");
        }
        long ratio = n / numDdimTimesteps;
        float[] ac = schedule.alphasCumprod();
        ddimTimesteps = new long[numDdimTimesteps];
        ddimAlphaCumprods = new float[numDdimTimesteps];
        ddimAlphaCumprodsPrev = new double[numDdimTimesteps];
        for (int i = 0; i < numDdimTimesteps; i++) {
            ddimTimesteps[i] = (i + 1) * ratio - 1;
            ddimAlphaCumprods[i] = ac[(int) ddimTimesteps[i]];
            ddimAlphaCumprodsPrev[i] = i == 0 ? ac[0] : ac[(int) ddimTimesteps[i - 1]];
        }
    }

    public long[] ddimTimesteps() {
        return ddimTimesteps.clone();
    }

    public float[] ddimAlphaCumprods() {
        return ddimAlphaCumprods.clone();
    }

    public double[] ddimAlphaCumprodsPrev() {
        return ddimAlphaCumprodsPrev.clone();
    }

    /** The script's step skip k = N / M (20 for SDXL): the target timestep is max(t - k, 0). */
    public static long topk(NoiseSchedule schedule, int numDdimTimesteps) {
        return schedule.numTrainTimesteps() / numDdimTimesteps;
    }

    private double alphaPrev(long index) {
        if (index < 0 || index >= ddimTimesteps.length) {
            throw new IllegalArgumentException("DDIM timestep index " + index + " is outside [0, " + (ddimTimesteps.length - 1) + "]");
        }
        return ddimAlphaCumprodsPrev[(int) index];
    }

    /** ddim_step on flat [B, ...] buffers, one index per sample; returns the float64 result as the script does. */
    public double[] ddimStep(float[] predX0, float[] predNoise, long[] timestepIndex) {
        if (predX0.length != predNoise.length) {
            throw new IllegalArgumentException("ddim_step: x0 has " + predX0.length + " values, noise " + predNoise.length);
        }
        int per = Coefficients.perSample(predX0.length, timestepIndex.length, "ddim_step");
        double[] out = new double[predX0.length];
        for (int b = 0; b < timestepIndex.length; b++) {
            double a = alphaPrev(timestepIndex[b]);
            double dir = Math.sqrt(1.0 - a);
            double sa = Math.sqrt(a);
            for (int i = b * per; i < (b + 1) * per; i++) {
                out[i] = sa * predX0[i] + dir * predNoise[i];
            }
        }
        return out;
    }

    /**
     * ddim_step on engine arrays [B, ...]: computed in float64 and returned as {@code resultType} (the loop's
     * {@code .to(unet.dtype)}). No gradient flows (the teacher path runs without one; toType cuts the graph).
     */
    public NDArray ddimStep(NDArray predX0, NDArray predNoise, long[] timestepIndex, DataType resultType) {
        long[] shape = new long[predX0.getShape().dimension()];
        Arrays.fill(shape, 1);
        shape[0] = timestepIndex.length;
        double[] sa = new double[timestepIndex.length];
        double[] dir = new double[timestepIndex.length];
        for (int b = 0; b < sa.length; b++) {
            double a = alphaPrev(timestepIndex[b]);
            sa[b] = Math.sqrt(a);
            dir[b] = Math.sqrt(1.0 - a);
        }
        NDManager m = predX0.getManager();
        try (NDArray a64 = m.create(sa, new Shape(shape)); NDArray d64 = m.create(dir, new Shape(shape));
                NDArray x64 = predX0.toType(DataType.FLOAT64, false); NDArray e64 = predNoise.toType(DataType.FLOAT64, false);
                NDArray ax = a64.mul(x64); NDArray de = d64.mul(e64); NDArray sum = ax.add(de)) {
            return resultType == DataType.FLOAT64 ? sum.duplicate() : sum.toType(resultType, false);
        }
    }
}
