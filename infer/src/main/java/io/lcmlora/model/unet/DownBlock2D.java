package io.lcmlora.model.unet;

import ai.djl.ndarray.NDArray;
import io.lcmlora.nn.Downsample2D;
import io.lcmlora.nn.ResnetBlock2D;
import io.lcmlora.nn.Weights;
import java.util.ArrayList;
import java.util.List;

/** diffusers {@code DownBlock2D}: resnets, then an optional stride-2 {@code downsamplers.0}. */
public final class DownBlock2D implements DownBlock {
    private final List<ResnetBlock2D> resnets = new ArrayList<>();
    private final Downsample2D downsampler;

    public DownBlock2D(Weights vb, long in, long out, long temb, int layers, int groups, double eps, boolean downsample, int padding) {
        for (int j = 0; j < layers; j++) {
            resnets.add(new ResnetBlock2D(vb.pp("resnets").pp(j), new ResnetBlock2D.Config(j == 0 ? in : out, out, temb, groups, eps)));
        }
        downsampler = downsample ? new Downsample2D(vb.pp("downsamplers").pp(0), out, out, padding) : null;
    }

    @Override
    public NDArray forward(NDArray h, NDArray temb, NDArray context, List<NDArray> skips, BlockRunner r) {
        for (ResnetBlock2D res : resnets) {
            h = r.one(BlockKind.RESNET, in -> res.forward(in.get(0), in.get(1)), h, temb);
            skips.add(h);
        }
        if (downsampler != null) {
            h = r.one(BlockKind.DOWNSAMPLE, in -> downsampler.forward(in.get(0)), h); // [B, C, H, W] -> [B, C, H/2, W/2]
            skips.add(h);
        }
        return h;
    }
}
