package io.lcmlora.train.loop;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.jni.JniUtils;
import java.util.Collection;
import java.util.List;

/**
 * Gradient clipping by global L2 norm, as {@code torch.nn.utils.clip_grad_norm_}: total = sqrt(sum of squared
 * per-tensor norms); when total > max, every gradient is scaled in place by max / (total + 1e-6). (DJL's
 * {@code optClipGrad} is element-wise and one-sided, so it is not used.)
 */
public final class GradClip {
    private GradClip() {}

    /** Clips the gradients of these parameters in place ({@code getGradient()} shares the {@code .grad} storage). */
    public static double clipGlobalNorm(Collection<NDArray> params, double maxNorm) {
        List<NDArray> grads = params.stream().map(NDArray::getGradient).toList();
        try {
            return clipGradients(grads, maxNorm);
        } finally {
            grads.forEach(NDArray::close);
        }
    }

    /**
     * Clips the given gradient arrays in place and returns their global norm before clipping. A non-finite norm is
     * returned without touching the gradients (the caller should skip that update).
     */
    public static double clipGradients(Collection<NDArray> grads, double maxNorm) {
        if (!(maxNorm > 0)) {
            throw new IllegalArgumentException("max_grad_norm must be > 0, got " + maxNorm);
        }
        boolean gradMode = JniUtils.isGradMode();
        JniUtils.setGradMode(false);
        try {
            double sumSq = 0;
            for (NDArray g : grads) {
                try (NDArray n = g.norm(); NDArray n64 = n.toType(DataType.FLOAT64, false)) {
                    double v = n64.getDouble();
                    sumSq += v * v;
                }
            }
            double total = Math.sqrt(sumSq);
            if (!Double.isFinite(total)) {
                return total;
            }
            double coef = maxNorm / (total + 1e-6);
            if (coef < 1.0) {
                for (NDArray g : grads) {
                    g.muli((float) coef); // grad mode is off: the scalar is not retained by autograd
                }
            }
            return total;
        } finally {
            JniUtils.setGradMode(gradMode);
        }
    }
}
