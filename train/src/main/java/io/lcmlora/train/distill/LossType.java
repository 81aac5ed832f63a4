package io.lcmlora.train.distill;

import ai.djl.ndarray.NDArray;
import io.lcmlora.nn.Ops;

/** The consistency loss between the student's and the target's consistency-function outputs. */
public enum LossType {
    /** Pseudo-Huber {@code mean(sqrt((a - b)^2 + c^2) - c)} (the LCM-LoRA SDXL recipe, c = 0.001). */
    HUBER,
    /** {@code mean((a - b)^2)} (the script's default). */
    L2;

    public NDArray apply(NDArray pred, NDArray target, double huberC) {
        NDArray d2 = pred.sub(target).square();
        return switch (this) {
            case L2 -> d2.mean();
            case HUBER -> Ops.addScalar(Ops.addScalar(d2, huberC * huberC).sqrt(), -huberC).mean();
        };
    }
}
