package io.lcmlora.model.unet;

import ai.djl.ndarray.NDArray;
import java.util.List;

/** A UNet encoder level: appends each resnet/attention output and the downsampled map to {@code skips}. */
public interface DownBlock {
    /** Every unit runs through {@code r}. */
    NDArray forward(NDArray h, NDArray temb, NDArray context, List<NDArray> skips, BlockRunner r);
}
