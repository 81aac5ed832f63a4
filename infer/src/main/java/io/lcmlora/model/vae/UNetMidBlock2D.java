package io.lcmlora.model.vae;

import ai.djl.ndarray.NDArray;
import io.lcmlora.nn.ResnetBlock2D;
import io.lcmlora.nn.Scopes;
import io.lcmlora.nn.Weights;

/**
 * diffusers {@code UNetMidBlock2D} as the VAE uses it (no time embedding, resnet_eps 1e-6, default time-scale
 * shift): {@code resnets.0 -> attentions.0 -> resnets.1}, all at {@code channels}, with
 * {@code attention_head_dim = channels} (one head).
 */
public final class UNetMidBlock2D {
    private final ResnetBlock2D resnet0;
    private final VaeAttention attention;
    private final ResnetBlock2D resnet1;

    public UNetMidBlock2D(Weights vb, long channels, int groups, double eps, boolean addAttention) {
        ResnetBlock2D.Config rc = new ResnetBlock2D.Config(channels, channels, 0, groups, eps);
        resnet0 = new ResnetBlock2D(vb.pp("resnets").pp(0), rc);
        attention = addAttention ? new VaeAttention(vb.pp("attentions").pp(0), channels, channels, groups, eps) : null;
        resnet1 = new ResnetBlock2D(vb.pp("resnets").pp(1), rc);
        vb.register(this);
    }

    /** [B, C, H, W] -> [B, C, H, W]; x is left open. */
    public NDArray forward(NDArray x) {
        NDArray h = Scopes.keepOnly(in -> resnet0.forward(in, null), x, x);
        if (attention != null) {
            h = Scopes.keepOnly(attention::forward, h, x);
        }
        return Scopes.keepOnly(in -> resnet1.forward(in, null), h, x);
    }
}
