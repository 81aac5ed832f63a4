package io.lcmlora.model.unet;

import ai.djl.ndarray.NDArray;
import io.lcmlora.nn.Downsample2D;
import io.lcmlora.nn.ResnetBlock2D;
import io.lcmlora.nn.Weights;
import java.util.ArrayList;
import java.util.List;

/** diffusers {@code CrossAttnDownBlock2D}: (resnet, Transformer2DModel) pairs, then an optional downsampler. */
public final class CrossAttnDownBlock2D implements DownBlock {
    private final List<ResnetBlock2D> resnets = new ArrayList<>();
    private final List<Transformer2DModel> attentions = new ArrayList<>();
    private final Downsample2D downsampler;

    public CrossAttnDownBlock2D(Weights vb, long in, long out, long temb, int layers, int groups, double eps,
            boolean downsample, int padding, int heads, int transformerLayers, long contextDim, boolean linearProjection) {
        for (int j = 0; j < layers; j++) {
            resnets.add(new ResnetBlock2D(vb.pp("resnets").pp(j), new ResnetBlock2D.Config(j == 0 ? in : out, out, temb, groups, eps)));
            attentions.add(new Transformer2DModel(vb.pp("attentions").pp(j), out, heads, transformerLayers, contextDim, groups, linearProjection));
        }
        downsampler = downsample ? new Downsample2D(vb.pp("downsamplers").pp(0), out, out, padding) : null;
    }

    @Override
    public NDArray forward(NDArray h, NDArray temb, NDArray context, List<NDArray> skips, BlockRunner r) {
        for (int j = 0; j < resnets.size(); j++) {
            ResnetBlock2D res = resnets.get(j);
            h = r.one(BlockKind.RESNET, in -> res.forward(in.get(0), in.get(1)), h, temb);
            h = attentions.get(j).forward(h, context, r);
            skips.add(h);
        }
        if (downsampler != null) {
            h = r.one(BlockKind.DOWNSAMPLE, in -> downsampler.forward(in.get(0)), h);
            skips.add(h);
        }
        return h;
    }
}
