package io.lcmlora.model.unet;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import io.lcmlora.nn.Upsample2D;
import java.util.List;

/** The skip-connection and upsampling steps shared by the up blocks. */
final class SkipConcat {
    private SkipConcat() {}

    /** Removes the last skip and concatenates it to h on the channel axis. */
    static NDArray pop(NDArray h, List<NDArray> skips) {
        NDArray s = skips.remove(skips.size() - 1);
        return NDArrays.concat(new NDList(h, s), 1);
    }

    static NDArray upsample(Upsample2D up, NDArray h, long[] size) {
        return size == null ? up.forward(h) : up.forward(h, size[0], size[1]);
    }
}
