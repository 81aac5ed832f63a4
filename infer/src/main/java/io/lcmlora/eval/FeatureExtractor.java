package io.lcmlora.eval;

import ai.djl.ndarray.NDArray;

/**
 * A network that maps images to feature vectors for FID. {@link InceptionV3Fid} is the standard one; any
 * other (a TorchScript module, a small domain classifier) plugs in the same way, and stats files record
 * {@link #describe()} so that statistics of different extractors are never compared silently.
 */
public interface FeatureExtractor extends AutoCloseable {
    /** Feature dimension (the number of values per image). */
    int dim();

    /**
     * One line naming the network, the tap and the preprocessing, e.g.
     * {@code "pytorch-fid InceptionV3 pool3 (2048-d), preprocessing pytorch-fid"}.
     */
    String describe();

    /** Features of uint8 RGB images [N, 3, H, W]: N rows of {@link #dim()} values. */
    double[][] features(NDArray imagesU8);

    @Override
    void close();
}
