package io.lcmlora.model.unet;

import ai.djl.ndarray.NDArray;
import java.util.List;

/** A UNet decoder level: consumes skip connections from the end of {@code skips} (one per resnet). */
public interface UpBlock {
    /** @param upsampleSize target [H, W] of the upsampler, or null for plain 2x */
    NDArray forward(NDArray h, List<NDArray> skips, NDArray temb, NDArray context, long[] upsampleSize, BlockRunner r);

    int numResnets();
}
