package io.lcmlora.model.vae;

import ai.djl.ndarray.NDArray;
import io.lcmlora.nn.Conv2d;
import io.lcmlora.nn.GroupNorm;
import io.lcmlora.nn.Ops;
import io.lcmlora.nn.Scopes;
import io.lcmlora.nn.Weights;
import java.util.ArrayList;
import java.util.List;

/**
 * diffusers {@code Encoder} (double_z=True): {@code conv_in} -> one {@link DownEncoderBlock2D} per block width
 * (downsampling after all but the last) -> {@link UNetMidBlock2D} -> {@code conv_norm_out} (GroupNorm, eps 1e-6)
 * -> SiLU -> {@code conv_out} to {@code 2 * latent_channels} (mean and logvar).
 */
public final class Encoder {
    static final double EPS = 1e-6;
    private final Conv2d convIn;
    private final List<DownEncoderBlock2D> downBlocks = new ArrayList<>();
    private final UNetMidBlock2D midBlock;
    private final GroupNorm convNormOut;
    private final Conv2d convOut;

    public Encoder(Weights vb, AutoencoderKLConfig c) {
        List<Integer> boc = c.blockOutChannels();
        int groups = c.normNumGroups();
        convIn = new Conv2d(vb.pp("conv_in"), c.inChannels(), boc.get(0), 3, 1, 1);
        long prev = boc.get(0);
        for (int i = 0; i < boc.size(); i++) {
            downBlocks.add(new DownEncoderBlock2D(vb.pp("down_blocks").pp(i), prev, boc.get(i), c.layersPerBlock(), groups,
                    EPS, i < boc.size() - 1));
            prev = boc.get(i);
        }
        long last = boc.get(boc.size() - 1);
        midBlock = new UNetMidBlock2D(vb.pp("mid_block"), last, groups, EPS, c.midBlockAddAttention());
        convNormOut = new GroupNorm(vb.pp("conv_norm_out"), groups, last, EPS);
        convOut = new Conv2d(vb.pp("conv_out"), last, 2L * c.latentChannels(), 3, 1, 1);
        vb.register(this);
    }

    /** [B, in, H, W] -> [B, 2*latent, H/f, W/f] (f = 2^(blocks-1), rounding up); x is left open. */
    public NDArray forward(NDArray x) {
        NDArray h = Scopes.keepOnly(convIn::forward, x, x);
        for (DownEncoderBlock2D block : downBlocks) {
            h = Scopes.keepOnly(block::forward, h, x);
        }
        h = Scopes.keepOnly(midBlock::forward, h, x);
        return Scopes.keepOnly(in -> convOut.forward(Ops.silu(convNormOut.forward(in))), h, x);
    }
}
