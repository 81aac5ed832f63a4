package io.lcmlora.model.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import io.lcmlora.nn.Conv2d;
import io.lcmlora.nn.Weights;

/**
 * transformers {@code CLIPVisionEmbeddings}: {@code patch_embedding} (conv, kernel = stride = patch_size, no bias)
 * flattened to tokens, the learned {@code class_embedding} prepended, plus {@code position_embedding}. The
 * {@code position_ids} buffer is always {@code arange}, so it is not read.
 */
public final class CLIPVisionEmbeddings {
    private final ClipVisionConfig config;
    private final NDArray classEmbedding;
    private final NDArray patchWeight;
    private final NDArray positionEmbedding;

    public CLIPVisionEmbeddings(Weights vb, ClipVisionConfig c) {
        config = c;
        classEmbedding = vb.get("class_embedding", c.hiddenSize());
        patchWeight = vb.pp("patch_embedding").get("weight", c.hiddenSize(), c.numChannels(), c.patchSize(), c.patchSize());
        positionEmbedding = vb.pp("position_embedding").get("weight", c.numPositions(), c.hiddenSize());
    }

    /** pixel_values [B, C, S, S] (S = image_size) -> [B, 1 + (S/P)^2, D]. */
    public NDArray forward(NDArray pixelValues) {
        Shape s = pixelValues.getShape();
        if (s.dimension() != 4 || s.get(1) != config.numChannels() || s.get(2) != config.imageSize()
                || s.get(3) != config.imageSize()) {
            throw new IllegalArgumentException("pixel_values must have shape [batch, " + config.numChannels() + ", "
                    + config.imageSize() + ", " + config.imageSize() + "] (image_size of the vision config), got " + s
                    + "; preprocess images with ClipImageProcessor");
        }
        long b = s.get(0);
        int d = config.hiddenSize();
        NDArray x = pixelValues.getDataType() == patchWeight.getDataType() ? pixelValues
                : pixelValues.toType(patchWeight.getDataType(), false);
        NDArray patches = Conv2d.convolve(x, patchWeight, null, config.patchSize(), 0); // [B, D, S/P, S/P]
        patches = patches.reshape(b, d, config.numPatches()).transpose(0, 2, 1); // [B, N, D]
        NDArray cls = classEmbedding.reshape(1, 1, d).broadcast(new Shape(b, 1, d)); // [B, 1, D]
        NDArray tokens = NDArrays.concat(new NDList(cls, patches), 1); // [B, 1 + N, D]
        return tokens.add(positionEmbedding.expandDims(0));
    }
}
