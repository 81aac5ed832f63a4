package io.lcmlora.train.data;

import io.lcmlora.train.config.DataConfig;
import io.lcmlora.train.config.DataConfig.Crop;
import io.lcmlora.train.config.DataConfig.Interpolation;
import io.lcmlora.train.loop.Rng;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferInt;
import java.awt.image.SinglePixelPackedSampleModel;

/**
 * The image transform of diffusers' SDXL training scripts, made deterministic through an explicit {@link Rng}:
 * <ol>
 *   <li>resize (anti-aliased, {@link Resample}) so the image covers the target; for a square target the shorter side
 *       becomes the resolution and the longer {@code int(res * long / short)}, as torchvision's {@code Resize(int)}
 *       (only the crop window of the resized image is computed, see {@link #plan});</li>
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
     * The sizes of transforming a {@code w x h} image to {@code targetW x targetH}: the cover-resized size (the
     * resized image itself is never materialised, only the crop window of it) and the bytes that {@link #apply}
     * allocates, so a caller can refuse an image before any pixel is decoded.
     */
    public record Plan(int width, int height, int resizedWidth, int resizedHeight, int targetWidth, int targetHeight,
            long workingBytes) {}

    public Plan plan(int w, int h, int targetH, int targetW) {
        if (w < 1 || h < 1 || targetW < 1 || targetH < 1) {
            throw new IllegalArgumentException("sizes must be positive: image " + w + "x" + h + ", target " + targetW + "x" + targetH);
        }
        // 1. cover-resize: the side that binds becomes the target, the other int(target * other / side) (>= target)
        long newW;
        long newH;
        if ((long) w * targetH >= (long) h * targetW) {
            newH = targetH;
            newW = Math.max(targetW, (long) ((double) targetH * w / h));
        } else {
            newW = targetW;
            newH = Math.max(targetH, (long) ((double) targetW * h / w));
        }
        if (newW > Integer.MAX_VALUE || newH > Integer.MAX_VALUE) {
            return new Plan(w, h, Integer.MAX_VALUE, Integer.MAX_VALUE, targetW, targetH, Long.MAX_VALUE);
        }
        long bytes = (newW != w || newH != h)
                ? Resample.windowBytes(3, w, h, (int) newW, (int) newH, targetW, targetH, interpolation)
                : 4L * 3 * targetW * targetH; // the window copied out of the source
        bytes += 4L * 3 * targetW * targetH; // the [3, targetH, targetW] output
        return new Plan(w, h, (int) newW, (int) newH, targetW, targetH, bytes);
    }

    /**
     * Transforms one RGB image to {@code targetH x targetW}. {@code originalW/H} (0 = unknown) are the size the source
     * recorded before any resizing of its own.
     */
    public Processed apply(BufferedImage image, int targetH, int targetW, int originalW, int originalH, Rng rng) {
        int w = image.getWidth();
        int h = image.getHeight();
        Plan plan = plan(w, h, targetH, targetW);
        if (plan.resizedWidth() == Integer.MAX_VALUE) {
            throw new IllegalArgumentException(w + "x" + h + " cannot be cover-resized to " + targetW + "x" + targetH);
        }
        int newW = plan.resizedWidth();
        int newH = plan.resizedHeight();
        // 2. flip
        boolean flip = randomFlip && rng.nextBoolean();
        // 3. crop (offsets in the resized, flipped image)
        int[] topLeft = switch (crop) {
            case CENTER -> new int[] {(int) Math.rint((newH - targetH) / 2.0), (int) Math.rint((newW - targetW) / 2.0)};
            case RANDOM -> new int[] {rng.nextInt(newH - targetH + 1), rng.nextInt(newW - targetW + 1)}; // top first
        };
        int top = topLeft[0];
        int left = topLeft[1];
        // 1. resize only the window: [3, h, w] -> [3, targetH, targetW], in unflipped coordinates
        int winLeft = flip ? newW - left - targetW : left;
        Resample.Pixels px = pixels(image);
        float[][] win = (newW != w || newH != h)
                ? Resample.window(px, 3, w, h, newW, newH, winLeft, top, targetW, targetH, interpolation)
                : copyWindow(px, w, winLeft, top, targetW, targetH);
        // 4. to [-1, 1], mirroring the window when flipped
        float[] out = new float[3 * targetH * targetW];
        for (int c = 0; c < 3; c++) {
            float[] p = win[c];
            for (int y = 0; y < targetH; y++) {
                int srcRow = y * targetW;
                int dstRow = (c * targetH + y) * targetW;
                for (int x = 0; x < targetW; x++) {
                    int sx = flip ? targetW - 1 - x : x;
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

    private static float[][] copyWindow(Resample.Pixels px, int w, int left, int top, int cw, int ch) {
        float[][] out = new float[3][cw * ch];
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < ch; y++) {
                for (int x = 0; x < cw; x++) {
                    out[c][y * cw + x] = px.get(c, (top + y) * w + left + x);
                }
            }
        }
        return out;
    }

    /** The image's RGB values 0..255, read in place from an 8-bit packed RGB raster (the decoder's output), else copied. */
    static Resample.Pixels pixels(BufferedImage image) {
        int w = image.getWidth();
        int[] argb;
        if ((image.getType() == BufferedImage.TYPE_INT_RGB || image.getType() == BufferedImage.TYPE_INT_ARGB)
                && image.getRaster().getDataBuffer() instanceof DataBufferInt db && db.getNumBanks() == 1
                && db.getOffset() == 0 && image.getRaster().getSampleModel() instanceof SinglePixelPackedSampleModel sm
                && sm.getScanlineStride() == w && image.getRaster().getSampleModelTranslateX() == 0
                && image.getRaster().getSampleModelTranslateY() == 0 && db.getSize() >= w * image.getHeight()) {
            argb = db.getData();
        } else {
            argb = image.getRGB(0, 0, w, image.getHeight(), null, 0, w);
        }
        int[] data = argb;
        return (c, i) -> (data[i] >>> (16 - 8 * c)) & 0xFF;
    }
}
