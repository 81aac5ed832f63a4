package io.lcmlora.schedule;

import ai.djl.ndarray.NDArray;
import io.lcmlora.schedule.SchedulerConfig.PredictionType;

/**
 * x0 and epsilon from a model output, as {@code get_predicted_original_sample} / {@code get_predicted_noise} of
 * train_lcm_distill_lora_sdxl.py (diffusers v0.25.1), with alpha_t = sqrt(alpha-bar_t), sigma_t = sqrt(1 - alpha-bar_t)
 * per sample:
 * <pre>
 *   epsilon:       x0 = (x - sigma*out) / alpha          eps = out
 *   sample:        x0 = out                              eps = (x - alpha*out) / sigma
 *   v_prediction:  x0 = alpha*x - sigma*out              eps = alpha*out + sigma*x
 * </pre>
 * Float arrays are flat [B, ...] with one alpha/sigma per sample; engine versions are graph-safe (the student's
 * x0 goes through here with autograd on).
 */
public final class Predictions {
    private Predictions() {}

    public static float[] originalSample(PredictionType type, float[] out, float[] x, float[] alpha, float[] sigma) {
        return apply(out, x, alpha, sigma, switch (type) {
            case EPSILON -> (o, xi, a, s) -> (xi - s * o) / a;
            case SAMPLE -> (o, xi, a, s) -> o;
            case V_PREDICTION -> (o, xi, a, s) -> a * xi - s * o;
        });
    }

    public static float[] noise(PredictionType type, float[] out, float[] x, float[] alpha, float[] sigma) {
        return apply(out, x, alpha, sigma, switch (type) {
            case EPSILON -> (o, xi, a, s) -> o;
            case SAMPLE -> (o, xi, a, s) -> (xi - a * o) / s;
            case V_PREDICTION -> (o, xi, a, s) -> a * o + s * xi;
        });
    }

    /** One element of a parameterisation: model output, sample, alpha_t, sigma_t -> value. */
    @FunctionalInterface
    private interface Formula {
        float at(float out, float x, float alpha, float sigma);
    }

    private static float[] apply(float[] out, float[] x, float[] alpha, float[] sigma, Formula f) {
        if (out.length != x.length || alpha.length != sigma.length) {
            throw new IllegalArgumentException("model output has " + out.length + " values, sample " + x.length
                    + "; " + alpha.length + " alphas, " + sigma.length + " sigmas");
        }
        int per = Coefficients.perSample(x.length, alpha.length, "prediction");
        float[] r = new float[x.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = f.at(out[i], x[i], alpha[i / per], sigma[i / per]);
        }
        return r;
    }

    public static NDArray originalSample(PredictionType type, NDArray out, NDArray x, float[] alpha, float[] sigma) {
        if (type == PredictionType.SAMPLE) {
            return out;
        }
        try (NDArray a = Coefficients.column(x, alpha); NDArray s = Coefficients.column(x, sigma)) {
            return type == PredictionType.EPSILON ? x.sub(s.mul(out)).div(a) : a.mul(x).sub(s.mul(out));
        }
    }

    public static NDArray noise(PredictionType type, NDArray out, NDArray x, float[] alpha, float[] sigma) {
        if (type == PredictionType.EPSILON) {
            return out;
        }
        try (NDArray a = Coefficients.column(x, alpha); NDArray s = Coefficients.column(x, sigma)) {
            return type == PredictionType.SAMPLE ? x.sub(a.mul(out)).div(s) : a.mul(out).add(s.mul(x));
        }
    }
}
