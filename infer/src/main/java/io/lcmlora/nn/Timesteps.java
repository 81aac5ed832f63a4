package io.lcmlora.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * diffusers {@code Timesteps} / {@code get_timestep_embedding}: sinusoidal features of (possibly fractional)
 * timesteps, computed in float32 arithmetic as the reference does: {@code freq_k = exp(-ln(10000) * k / (half -
 * shift))}, {@code [sin(t*freq) | cos(t*freq)]}, swapped to {@code [cos | sin]} when flip_sin_to_cos.
 */
public final class Timesteps {
    private static final double MAX_PERIOD = 10000;
    private final int dim;
    private final boolean flipSinToCos;
    private final double freqShift;

    public Timesteps(int dim, boolean flipSinToCos, double freqShift) {
        this.dim = dim;
        this.flipSinToCos = flipSinToCos;
        this.freqShift = freqShift;
    }

    /** The embedding of each timestep: [N] -> [N, dim], row-major. */
    public float[] embed(double[] t) {
        int half = dim / 2;
        float[] freqs = new float[half];
        float logP = (float) -Math.log(MAX_PERIOD);
        float denom = (float) (half - freqShift);
        for (int k = 0; k < half; k++) {
            freqs[k] = (float) Math.exp((logP * k) / denom);
        }
        float[] out = new float[t.length * dim];
        for (int i = 0; i < t.length; i++) {
            float ti = (float) t[i];
            for (int k = 0; k < half; k++) {
                float arg = ti * freqs[k];
                float s = (float) Math.sin(arg);
                float c = (float) Math.cos(arg);
                out[i * dim + k] = flipSinToCos ? c : s;
                out[i * dim + half + k] = flipSinToCos ? s : c;
            }
        }
        return out;
    }

    /** [N] timesteps -> [N, dim] array of the given dtype (zero-padded last column when dim is odd). */
    public NDArray forward(NDManager manager, double[] t, DataType dtype) {
        NDArray e = manager.create(embed(t), new Shape(t.length, dim));
        return dtype == DataType.FLOAT32 ? e : e.toType(dtype, false);
    }
}
