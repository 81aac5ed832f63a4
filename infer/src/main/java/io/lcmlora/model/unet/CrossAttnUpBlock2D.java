package io.lcmlora.model.unet;

import ai.djl.ndarray.NDArray;
import io.lcmlora.nn.ResnetBlock2D;
import io.lcmlora.nn.Upsample2D;
import io.lcmlora.nn.Weights;
import java.util.ArrayList;
import java.util.List;

/** diffusers {@code CrossAttnUpBlock2D}: (skip concat, resnet, Transformer2DModel) per layer, then an upsampler. */
public final class CrossAttnUpBlock2D implements UpBlock {
    private final List<ResnetBlock2D> resnets = new ArrayList<>();
    private final List<Transformer2DModel> attentions = new ArrayList<>();
    private final Upsample2D upsampler;

    public CrossAttnUpBlock2D(Weights vb, long in, long prevOut, long out, long temb, int layers, int groups, double eps,
            boolean upsample, int heads, int transformerLayers, long contextDim, boolean linearProjection) {
        for (int j = 0; j < layers; j++) {
            long skip = j == layers - 1 ? in : out;
            long resIn = j == 0 ? prevOut : out;
            resnets.add(new ResnetBlock2D(vb.pp("resnets").pp(j), new ResnetBlock2D.Config(resIn + skip, out, temb, groups, eps)));
            attentions.add(new Transformer2DModel(vb.pp("attentions").pp(j), out, heads, transformerLayers, contextDim, groups, linearProjection));
        }
        upsampler = upsample ? new Upsample2D(vb.pp("upsamplers").pp(0), out, out) : null;
    }

    @Override
    public int numResnets() {
        return resnets.size();
    }

    @Override
    public NDArray forward(NDArray h, List<NDArray> skips, NDArray temb, NDArray context, long[] upsampleSize, BlockRunner r) {
        for (int j = 0; j < resnets.size(); j++) {
            ResnetBlock2D res = resnets.get(j);
            NDArray skip = skips.remove(skips.size() - 1);
            h = r.one(BlockKind.RESNET, in -> res.forward(SkipConcat.concat(in.get(0), in.get(1)), in.get(2)), h, skip, temb);
            h = attentions.get(j).forward(h, context, r);
        }
        return upsampler == null ? h
                : r.one(BlockKind.UPSAMPLE, in -> SkipConcat.upsample(upsampler, in.get(0), upsampleSize), h);
    }
}
