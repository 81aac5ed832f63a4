package io.lcmlora.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;

/**
 * torch.nn.Conv2d with square kernel, stride and padding; weight [out, in, k, k], bias [out].
 *
 * <p>On CPU, libtorch 2.7.1's conv backward (grad wrt input) gives intermittent NaN when the layer has fewer
 * than 16 output channels (SDXL's conv_out has 4). There the weight is zero-padded to 16 output channels and the
 * output sliced back: the same numbers, a clean gradient.
 */
public final class Conv2d extends AdaptableLayer {
    private static final int MIN_CPU_OUT = 16;
    private final long in;
    private final long out;
    private final int kernel;
    private final int stride;
    private final int padding;

    public Conv2d(Weights vb, long in, long out, int kernel, int stride, int padding) {
        super(vb.path(), vb.get("weight", out, in, kernel, kernel), vb.get("bias", out));
        this.in = in;
        this.out = out;
        this.kernel = kernel;
        this.stride = stride;
        this.padding = padding;
        vb.register(this);
    }

    public long in() {
        return in;
    }

    public long out() {
        return out;
    }

    public int kernel() {
        return kernel;
    }

    public int stride() {
        return stride;
    }

    public int padding() {
        return padding;
    }

    @Override
    protected NDArray base(NDArray x) {
        return convolve(x, weight, bias, stride, padding);
    }

    /**
     * torch conv2d (square stride/padding, bias may be null) with the CPU workaround of this class: fewer than 16
     * output channels are zero-padded to 16 and sliced back, with or without gradients (a no-grad pass must give the
     * bits of the pass with gradients, which the checkpointed student relies on). LoRA's A conv (r output channels)
     * uses it too.
     */
    public static NDArray convolve(NDArray x, NDArray weight, NDArray bias, int stride, int padding) {
        Shape ws = weight.getShape();
        long out = ws.get(0);
        if (out < MIN_CPU_OUT && "cpu".equals(x.getDevice().getDeviceType())) {
            NDArray w = NDArrays.concat(new NDList(weight,
                    weight.getManager().zeros(new Shape(MIN_CPU_OUT - out, ws.get(1), ws.get(2), ws.get(3)), weight.getDataType())), 0);
            NDArray b = bias == null ? null : NDArrays.concat(new NDList(bias,
                    bias.getManager().zeros(new Shape(MIN_CPU_OUT - out), bias.getDataType())), 0);
            return Ops.conv2d(x, w, b, stride, padding).get(new NDIndex(":, 0:" + out));
        }
        return Ops.conv2d(x, weight, bias, stride, padding);
    }
}
