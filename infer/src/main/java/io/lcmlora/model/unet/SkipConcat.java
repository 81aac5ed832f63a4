package io.lcmlora.model.unet;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import io.lcmlora.nn.Upsample2D;

/** The skip-connection and upsampling steps shared by the up blocks. */
final class SkipConcat {
    private SkipConcat() {}

    /** h ++ skip on the channel axis. */
    static NDArray concat(NDArray h, NDArray skip) {
        return NDArrays.concat(new NDList(h, skip), 1);
    }

    static NDArray upsample(Upsample2D up, NDArray h, long[] size) {
        return size == null ? up.forward(h) : up.forward(h, size[0], size[1]);
    }
}
