package io.lcmlora.train.data;

/**
 * SDXL size and crop conditioning of one example (the UNet's {@code time_ids}, in this order): original size
 * (h, w), crop top-left (y, x) in the resized image, target size (h, w).
 */
public record MicroConditioning(int originalHeight, int originalWidth, int cropTop, int cropLeft, int targetHeight,
        int targetWidth) {

    /** {@code --use_fix_crop_and_size}: the original size claimed to be the target size, no crop. */
    public static MicroConditioning fixed(int targetHeight, int targetWidth) {
        return new MicroConditioning(targetHeight, targetWidth, 0, 0, targetHeight, targetWidth);
    }

    /** [orig_h, orig_w, crop_top, crop_left, target_h, target_w] as the UNet's add_time_ids. */
    public float[] timeIds() {
        return new float[] {originalHeight, originalWidth, cropTop, cropLeft, targetHeight, targetWidth};
    }
}
