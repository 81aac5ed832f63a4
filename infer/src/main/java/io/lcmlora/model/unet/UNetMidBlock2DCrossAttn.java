package io.lcmlora.model.unet;

import ai.djl.ndarray.NDArray;
import io.lcmlora.nn.ResnetBlock2D;
import io.lcmlora.nn.Weights;

/** diffusers {@code UNetMidBlock2DCrossAttn} (one attention): resnets.0, attentions.0, resnets.1. */
public final class UNetMidBlock2DCrossAttn {
    private final ResnetBlock2D resnet0;
    private final Transformer2DModel attention;
    private final ResnetBlock2D resnet1;

    public UNetMidBlock2DCrossAttn(Weights vb, long channels, long temb, int groups, double eps, int heads,
            int transformerLayers, long contextDim, boolean linearProjection) {
        var cfg = new ResnetBlock2D.Config(channels, channels, temb, groups, eps);
        resnet0 = new ResnetBlock2D(vb.pp("resnets").pp(0), cfg);
        attention = new Transformer2DModel(vb.pp("attentions").pp(0), channels, heads, transformerLayers, contextDim, groups, linearProjection);
        resnet1 = new ResnetBlock2D(vb.pp("resnets").pp(1), cfg);
    }

    /** Every unit runs through {@code r}. */
    public NDArray forward(NDArray h, NDArray temb, NDArray context, BlockRunner r) {
        h = r.one(BlockKind.RESNET, in -> resnet0.forward(in.get(0), in.get(1)), h, temb);
        h = attention.forward(h, context, r);
        return r.one(BlockKind.RESNET, in -> resnet1.forward(in.get(0), in.get(1)), h, temb);
    }
}
