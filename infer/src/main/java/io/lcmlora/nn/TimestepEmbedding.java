package io.lcmlora.nn;

import ai.djl.ndarray.NDArray;

/**
 * diffusers {@code TimestepEmbedding}: {@code linear_2(silu(linear_1(x + cond_proj(cond))))}; {@code cond_proj}
 * (no bias) exists only when a condition dimension is configured (LCM's guidance embedding).
 */
public final class TimestepEmbedding {
    private final Linear linear1;
    private final Linear linear2;
    private final Linear condProj;

    public TimestepEmbedding(Weights vb, long in, long dim, long condProjDim) {
        linear1 = new Linear(vb.pp("linear_1"), in, dim, true);
        linear2 = new Linear(vb.pp("linear_2"), dim, dim, true);
        condProj = condProjDim > 0 ? new Linear(vb.pp("cond_proj"), condProjDim, in, false) : null;
    }

    /** x [B, in], cond [B, condProjDim] or null -> [B, dim]. */
    public NDArray forward(NDArray x, NDArray cond) {
        if (cond != null) {
            if (condProj == null) {
                throw new IllegalArgumentException("a timestep condition was given but the model has no cond_proj");
            }
            x = x.add(condProj.forward(cond));
        }
        return linear2.forward(Ops.silu(linear1.forward(x)));
    }
}
