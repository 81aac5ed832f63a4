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
 * diffusers {@code Decoder} (norm_type "group"): {@code conv_in} from latent channels to the last block width ->
 * {@link UNetMidBlock2D} -> one {@link UpDecoderBlock2D} per block width in reverse, each with
 * {@code layers_per_block + 1} resnets (upsampling after all but the last) -> {@code conv_norm_out} (GroupNorm,
 * eps 1e-6) -> SiLU -> {@code conv_out}. The output is not clamped.
 */
public final class Decoder {
    private final Conv2d convIn;
    private final UNetMidBlock2D midBlock;
    private final List<UpDecoderBlock2D> upBlocks = new ArrayList<>();
    private final GroupNorm convNormOut;
    private final Conv2d convOut;

    public Decoder(Weights vb, AutoencoderKLConfig c) {
        List<Integer> boc = c.blockOutChannels();
        int n = boc.size();
        int groups = c.normNumGroups();
        long last = boc.get(n - 1);
        convIn = new Conv2d(vb.pp("conv_in"), c.latentChannels(), last, 3, 1, 1);
        midBlock = new UNetMidBlock2D(vb.pp("mid_block"), last, groups, Encoder.EPS, c.midBlockAddAttention());
        long prev = last;
        for (int i = 0; i < n; i++) {
            long out = boc.get(n - 1 - i); // reversed block_out_channels
            upBlocks.add(new UpDecoderBlock2D(vb.pp("up_blocks").pp(i), prev, out, c.layersPerBlock() + 1, groups,
                    Encoder.EPS, i < n - 1));
            prev = out;
        }
        convNormOut = new GroupNorm(vb.pp("conv_norm_out"), groups, boc.get(0), Encoder.EPS);
        convOut = new Conv2d(vb.pp("conv_out"), boc.get(0), c.outChannels(), 3, 1, 1);
        vb.register(this);
    }

    /** [B, latent, h, w] -> [B, out, h*f, w*f] (f = 2^(blocks-1)); z is left open. */
    public NDArray forward(NDArray z) {
        NDArray h = Scopes.keepOnly(convIn::forward, z, z);
        h = Scopes.keepOnly(midBlock::forward, h, z);
        for (UpDecoderBlock2D block : upBlocks) {
            h = Scopes.keepOnly(block::forward, h, z);
        }
        return Scopes.keepOnly(in -> convOut.forward(Ops.silu(convNormOut.forward(in))), h, z);
    }
}
