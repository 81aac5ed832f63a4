package io.lcmlora.nn;

import ai.djl.ndarray.NDArray;

/**
 * diffusers {@code ResnetBlock2D} (time_embedding_norm "default", output_scale_factor 1, no up/down path):
 * {@code x + conv2(silu(norm2(conv1(silu(norm1(x))) + time_emb_proj(silu(temb))[..., None, None])))}, with a 1x1
 * {@code conv_shortcut} on x when the channel count changes. The VAE uses it without a time embedding.
 */
public final class ResnetBlock2D {
    /** Block settings; {@code tembChannels} 0 means no time embedding (VAE). */
    public record Config(long in, long out, long tembChannels, int groups, double eps) {
        public Config {
            if (in <= 0 || out <= 0 || tembChannels < 0 || groups <= 0) {
                throw new IllegalArgumentException("bad ResnetBlock2D config " + in + "->" + out + " groups " + groups);
            }
        }
    }

    private final GroupNorm norm1;
    private final Conv2d conv1;
    private final Linear timeEmbProj;
    private final GroupNorm norm2;
    private final Conv2d conv2;
    private final Conv2d convShortcut;

    public ResnetBlock2D(Weights vb, Config c) {
        norm1 = new GroupNorm(vb.pp("norm1"), c.groups(), c.in(), c.eps());
        conv1 = new Conv2d(vb.pp("conv1"), c.in(), c.out(), 3, 1, 1);
        timeEmbProj = c.tembChannels() > 0 ? new Linear(vb.pp("time_emb_proj"), c.tembChannels(), c.out(), true) : null;
        norm2 = new GroupNorm(vb.pp("norm2"), c.groups(), c.out(), c.eps());
        conv2 = new Conv2d(vb.pp("conv2"), c.out(), c.out(), 3, 1, 1);
        convShortcut = c.in() != c.out() ? new Conv2d(vb.pp("conv_shortcut"), c.in(), c.out(), 1, 1, 0) : null;
    }

    /**
     * x [B, Cin, H, W], temb [B, T] or null -> [B, Cout, H, W]. Each intermediate is closed as soon as the next op
     * has consumed it: that frees it at once without gradients, and with gradients autograd keeps its own reference
     * to whatever backward needs, so the memory then lives exactly as long as the graph does.
     */
    public NDArray forward(NDArray x, NDArray temb) {
        NDArray n1 = norm1.forward(x);
        NDArray a1 = Ops.silu(n1);
        n1.close();
        NDArray h = conv1.forward(a1);
        a1.close();
        if (timeEmbProj != null) {
            NDArray at = Ops.silu(temb);
            NDArray t = timeEmbProj.forward(at); // [B, Cout]
            at.close();
            NDArray sum = h.add(t.expandDims(2).expandDims(3));
            h.close();
            t.close();
            h = sum;
        }
        NDArray n2 = norm2.forward(h);
        h.close();
        NDArray a2 = Ops.silu(n2);
        n2.close();
        h = conv2.forward(a2);
        a2.close();
        NDArray skip = convShortcut != null ? convShortcut.forward(x) : x;
        NDArray out = skip.add(h);
        h.close();
        if (skip != x) {
            skip.close();
        }
        return out;
    }
}
