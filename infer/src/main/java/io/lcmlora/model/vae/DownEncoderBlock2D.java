package io.lcmlora.model.vae;

import ai.djl.ndarray.NDArray;
import io.lcmlora.nn.Downsample2D;
import io.lcmlora.nn.ResnetBlock2D;
import io.lcmlora.nn.Scopes;
import io.lcmlora.nn.Weights;
import java.util.ArrayList;
import java.util.List;

/**
 * diffusers {@code DownEncoderBlock2D}: {@code layers} resnets (the first maps in -> out, no time embedding), then,
 * unless it is the last block, {@code downsamplers.0} (3x3 stride-2 conv with padding 0, so the map is zero-padded
 * right/bottom first).
 */
public final class DownEncoderBlock2D {
    private final List<ResnetBlock2D> resnets = new ArrayList<>();
    private final Downsample2D downsampler;

    public DownEncoderBlock2D(Weights vb, long in, long out, int layers, int groups, double eps, boolean addDownsample) {
        for (int i = 0; i < layers; i++) {
            resnets.add(new ResnetBlock2D(vb.pp("resnets").pp(i),
                    new ResnetBlock2D.Config(i == 0 ? in : out, out, 0, groups, eps)));
        }
        downsampler = addDownsample ? new Downsample2D(vb.pp("downsamplers").pp(0), out, out, 0) : null;
        vb.register(this);
    }

    /** [B, Cin, H, W] -> [B, Cout, ceil(H/2), ceil(W/2)] (or [B, Cout, H, W] without downsampler); x is left open. */
    public NDArray forward(NDArray x) {
        NDArray h = x;
        for (ResnetBlock2D r : resnets) {
            h = Scopes.keepOnly(in -> r.forward(in, null), h, x);
        }
        if (downsampler != null) {
            h = Scopes.keepOnly(downsampler::forward, h, x);
        }
        return h;
    }
}
