package io.lcmlora.model.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * SDXL micro-conditioning, as the pipeline's {@code _get_add_time_ids}: {@code original_size + crops_coords_top_left
 * + target_size}, sizes given as (height, width). The pipeline's optional negative sizes are a second instance.
 */
public record SdxlTimeIds(int originalHeight, int originalWidth, int cropTop, int cropLeft, int targetHeight,
        int targetWidth) {
    public SdxlTimeIds {
        if (originalHeight <= 0 || originalWidth <= 0 || targetHeight <= 0 || targetWidth <= 0 || cropTop < 0 || cropLeft < 0) {
            throw new IllegalArgumentException("time ids need positive sizes and non-negative crops, got original ("
                    + originalHeight + ", " + originalWidth + "), crop (" + cropTop + ", " + cropLeft + "), target ("
                    + targetHeight + ", " + targetWidth + ")");
        }
    }

    public static SdxlTimeIds of(int originalHeight, int originalWidth, int cropTop, int cropLeft, int targetHeight,
            int targetWidth) {
        return new SdxlTimeIds(originalHeight, originalWidth, cropTop, cropLeft, targetHeight, targetWidth);
    }

    /** The pipeline default for a {@code height x width} image: original = target = (height, width), no crop. */
    public static SdxlTimeIds forImage(int height, int width) {
        return of(height, width, 0, 0, height, width);
    }

    /** [origH, origW, cropTop, cropLeft, targetH, targetW]. */
    public float[] values() {
        return new float[] {originalHeight, originalWidth, cropTop, cropLeft, targetHeight, targetWidth};
    }

    /** FLOAT32 [rows, 6], the vector repeated per batch row (the pipeline's {@code repeat(batch, 1)}). */
    public NDArray toArray(NDManager manager, int rows) {
        if (rows < 1) {
            throw new IllegalArgumentException("rows must be positive, got " + rows);
        }
        float[] v = values();
        float[] out = new float[rows * v.length];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(v, 0, out, r * v.length, v.length);
        }
        return manager.create(out, new Shape(rows, v.length));
    }

    /**
     * The pipeline's check that the UNet's {@code add_embedding.linear_1} takes
     * {@code addition_time_embed_dim * 6 + text_encoder_2.projection_dim} features.
     */
    public static void checkAddEmbedDim(int additionTimeEmbedDim, int textEncoderProjectionDim, int expectedInFeatures) {
        int passed = additionTimeEmbedDim * 6 + textEncoderProjectionDim;
        if (passed != expectedInFeatures) {
            throw new IllegalArgumentException("model expects an added time embedding vector of length " + expectedInFeatures
                    + ", but a vector of " + passed + " (= " + additionTimeEmbedDim + " * 6 + " + textEncoderProjectionDim
                    + ") was created: check unet.config.addition_time_embed_dim and text_encoder_2.config.projection_dim");
        }
    }
}
