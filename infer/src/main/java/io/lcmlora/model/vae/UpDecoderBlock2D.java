package io.lcmlora.model.vae;

import ai.djl.ndarray.NDArray;
import io.lcmlora.nn.ResnetBlock2D;
import io.lcmlora.nn.Scopes;
import io.lcmlora.nn.Upsample2D;
import io.lcmlora.nn.Weights;
import java.util.ArrayList;
import java.util.List;

/**
 * diffusers {@code UpDecoderBlock2D}: {@code layers} resnets (the first maps in -> out, no time embedding), then,
 * unless it is the last block, {@code upsamplers.0} (nearest 2x and a 3x3 conv).
 */
public final class UpDecoderBlock2D {
    private final List<ResnetBlock2D> resnets = new ArrayList<>();
    private final Upsample2D upsampler;

    public UpDecoderBlock2D(Weights vb, long in, long out, int layers, int groups, double eps, boolean addUpsample) {
        for (int i = 0; i < layers; i++) {
            resnets.add(new ResnetBlock2D(vb.pp("resnets").pp(i),
                    new ResnetBlock2D.Config(i == 0 ? in : out, out, 0, groups, eps)));
        }
        upsampler = addUpsample ? new Upsample2D(vb.pp("upsamplers").pp(0), out, out) : null;
        vb.register(this);
    }

    /** [B, Cin, H, W] -> [B, Cout, 2H, 2W] (or [B, Cout, H, W] without upsampler); x is left open. */
    public NDArray forward(NDArray x) {
        NDArray h = x;
        for (ResnetBlock2D r : resnets) {
            h = Scopes.keepOnly(in -> r.forward(in, null), h, x);
        }
        if (upsampler != null) {
            h = Scopes.keepOnly(upsampler::forward, h, x);
        }
        return h;
    }
}
