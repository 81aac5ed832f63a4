package io.lcmlora.train.data;

import io.lcmlora.train.config.DataConfig;
import io.lcmlora.train.config.DataConfig.Crop;
import io.lcmlora.train.config.DataConfig.Interpolation;
import io.lcmlora.train.loop.Rng;
import java.awt.image.BufferedImage;

/**
 * The image transform of diffusers' SDXL training scripts, made deterministic through an explicit {@link Rng}:
 * <ol>
 *   <li>resize (anti-aliased, {@link Resample}) so the image covers the target; for a square target the shorter side
 *       becomes the resolution and the longer {@code int(res * long / short)}, as torchvision's {@code Resize(int)};</li>
 *   <li>with {@code random_flip}, a horizontal flip with probability 1/2 (drawn first);</li>
 *   <li>crop to the target: centred ({@code round((H - h) / 2)}, Python's half-to-even rounding) or at a uniform
 *       random offset ({@code RandomCrop.get_params}); the crop offset is measured in the resized (flipped) image;</li>
 *   <li>to float CHW in [-1, 1] ({@code to_tensor} then {@code normalize(0.5, 0.5)}).</li>
 * </ol>
 * The SDXL micro-conditioning is (original h, w) (the source's recorded size when it has one, else the decoded
 * size), the crop (top, left) and the target (h, w); with {@code fix_crop_and_size} it is (target, (0, 0), target).
 */
public record Preprocess(Crop crop, boolean randomFlip, boolean fixCropAndSize, Interpolation interpolation) {

    /** A transformed image: {@code pixels} is [3, height, width] row-major in [-1, 1]. */
    public record Processed(float[] pixels, int height, int width, MicroConditioning conditioning, boolean flipped) {}

    public static Preprocess of(DataConfig d) {
        return new Preprocess(d.crop(), d.randomFlip(), d.fixCropAndSize(), d.interpolation());
    }

    /**
     * Transforms one RGB image to {@code targetH x targetW}. {@code originalW/H} (0 = unknown) are the size the source
     * recorded before any resizing of its own.
     */
    public Processed apply(BufferedImage image, int targetH, int targetW, int originalW, int originalH, Rng rng) {
        int w = image.getWidth();
        int h = image.getHeight();
        // 1. cover-resize
        int newW;
        int newH;
        if ((long) w * targetH >= (long) h * targetW) {
            newH = targetH;
            newW = Math.max(targetW, (int) ((double) targetH * w / h));
        } else {
            newW = targetW;
            newH = Math.max(targetH, (int) ((double) targetW * h / w));
        }
        float[][] planes = planes(image);
        if (newW != w || newH != h) {
            planes = Resample.resize(planes, w, h, newW, newH, interpolation);
        }
        // 2. flip
        boolean flip = randomFlip && rng.nextBoolean();
        // 3. crop
        int top;
        int left;
        if (crop == Crop.CENTER) {
            top = (int) Math.rint((newH - targetH) / 2.0);
            left = (int) Math.rint((newW - targetW) / 2.0);
        } else {
            top = rng.nextInt(newH - targetH + 1);
            left = rng.nextInt(newW - targetW + 1);
        }
        // 4. [3, newH, newW] -> [3, targetH, targetW] in [-1, 1]
        float[] out = new float[3 * targetH * targetW];
        for (int c = 0; c < 3; c++) {
            float[] p = planes[c];
            for (int y = 0; y < targetH; y++) {
                int srcRow = (top + y) * newW;
                int dstRow = (c * targetH + y) * targetW;
                for (int x = 0; x < targetW; x++) {
                    int sx = flip ? newW - 1 - (left + x) : left + x;
                    float v = Math.min(255f, Math.max(0f, p[srcRow + sx]));
                    out[dstRow + x] = v / 255f * 2f - 1f;
                }
            }
        }
        MicroConditioning mc = fixCropAndSize ? MicroConditioning.fixed(targetH, targetW)
                : new MicroConditioning(originalH > 0 ? originalH : h, originalW > 0 ? originalW : w, top, left,
                        targetH, targetW);
        return new Processed(out, targetH, targetW, mc, flip);
    }

    /** RGB planes [3][h*w] with values 0..255. */
    static float[][] planes(BufferedImage image) {
        int w = image.getWidth();
        int h = image.getHeight();
        int[] argb = image.getRGB(0, 0, w, h, null, 0, w);
        float[][] p = new float[3][w * h];
        for (int i = 0; i < argb.length; i++) {
            p[0][i] = (argb[i] >>> 16) & 0xFF;
            p[1][i] = (argb[i] >>> 8) & 0xFF;
            p[2][i] = argb[i] & 0xFF;
        }
        return p;
    }
}
