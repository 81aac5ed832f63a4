package io.lcmlora.model.unet;

import ai.djl.ndarray.NDArray;
import io.lcmlora.nn.ResnetBlock2D;
import io.lcmlora.nn.Upsample2D;
import io.lcmlora.nn.Weights;
import java.util.ArrayList;
import java.util.List;

/**
 * diffusers {@code UpBlock2D}: each resnet takes the previous output concatenated with one skip connection
 * (the last resnet's skip has the next-shallower level's channels), then an optional upsampler.
 */
public final class UpBlock2D implements UpBlock {
    private final List<ResnetBlock2D> resnets = new ArrayList<>();
    private final Upsample2D upsampler;

    public UpBlock2D(Weights vb, long in, long prevOut, long out, long temb, int layers, int groups, double eps, boolean upsample) {
        for (int j = 0; j < layers; j++) {
            long skip = j == layers - 1 ? in : out;
            long resIn = j == 0 ? prevOut : out;
            resnets.add(new ResnetBlock2D(vb.pp("resnets").pp(j), new ResnetBlock2D.Config(resIn + skip, out, temb, groups, eps)));
        }
        upsampler = upsample ? new Upsample2D(vb.pp("upsamplers").pp(0), out, out) : null;
    }

    @Override
    public int numResnets() {
        return resnets.size();
    }

    @Override
    public NDArray forward(NDArray h, List<NDArray> skips, NDArray temb, NDArray context, long[] upsampleSize, BlockRunner r) {
        for (ResnetBlock2D res : resnets) {
            NDArray skip = skips.remove(skips.size() - 1);
            // [B, C, H, W] ++ [B, Cs, H, W] -> [B, C+Cs, H, W] -> resnet
            h = r.one(BlockKind.RESNET, in -> res.forward(SkipConcat.concat(in.get(0), in.get(1)), in.get(2)), h, skip, temb);
        }
        return upsampler == null ? h
                : r.one(BlockKind.UPSAMPLE, in -> SkipConcat.upsample(upsampler, in.get(0), upsampleSize), h);
    }
}
