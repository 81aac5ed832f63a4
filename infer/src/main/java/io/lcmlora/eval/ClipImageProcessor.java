package io.lcmlora.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.lcmlora.io.ConfigJson;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * transformers' {@code CLIPImageProcessor} (v4.36) on uint8 RGB images, step by step as it runs them:
 * <ol>
 *   <li>resize so the shorter side is {@code shortestEdge}, the longer {@code int(shortestEdge * long / short)},
 *       with Pillow's 8-bit bicubic filter (antialiased; {@link PilBicubic#resizeU8}); an image whose shorter side
 *       already matches is left as is;</li>
 *   <li>centre crop to {@code cropSize} x {@code cropSize}: top {@code (h - crop) / 2}, left {@code (w - crop) / 2}
 *       (floor);</li>
 *   <li>rescale: {@code float32(x * rescale_factor)} (the product in double, as numpy does for uint8 times a
 *       Python float);</li>
 *   <li>normalise per channel in float32: {@code (x - mean) / std}.</li>
 * </ol>
 *
 * @param shortestEdge {@code size.shortest_edge} (224 for the published towers)
 * @param cropSize {@code crop_size} (square; at most {@code shortestEdge}, so no padding is ever needed)
 * @param rescaleFactor {@code rescale_factor} (1/255)
 * @param mean {@code image_mean}, three values
 * @param std {@code image_std}, three positive values
 */
public record ClipImageProcessor(int shortestEdge, int cropSize, double rescaleFactor, float[] mean, float[] std) {
    /** OpenAI CLIP's mean (also OpenCLIP's for ViT-g/bigG as converted to transformers). */
    public static final float[] OPENAI_MEAN = {0.48145466f, 0.4578275f, 0.40821073f};
    /** OpenAI CLIP's std. */
    public static final float[] OPENAI_STD = {0.26862954f, 0.26130258f, 0.27577711f};

    public ClipImageProcessor {
        if (shortestEdge < 1 || shortestEdge > 16384) {
            throw new IllegalArgumentException("shortest_edge must be in [1, 16384], got " + shortestEdge);
        }
        if (cropSize < 1 || cropSize > shortestEdge) {
            throw new IllegalArgumentException("crop_size must be in [1, shortest_edge = " + shortestEdge + "], got "
                    + cropSize);
        }
        if (!(rescaleFactor > 0) || !Double.isFinite(rescaleFactor)) {
            throw new IllegalArgumentException("rescale_factor must be positive, got " + rescaleFactor);
        }
        if (mean == null || mean.length != 3 || std == null || std.length != 3) {
            throw new IllegalArgumentException("image_mean and image_std must have 3 values each");
        }
        for (float s : std) {
            if (!(s > 0)) {
                throw new IllegalArgumentException("image_std values must be positive, got " + s);
            }
        }
        mean = mean.clone();
        std = std.clone();
    }

    /** What CLIPImageProcessor of openai/clip-vit-large-patch14 (and the OpenCLIP towers) is set to at {@code size}. */
    public static ClipImageProcessor openai(int size) {
        return new ClipImageProcessor(size, size, 1 / 255.0, OPENAI_MEAN, OPENAI_STD);
    }

    /**
     * The folder's {@code preprocessor_config.json} when it has one, else {@link #openai} at {@code imageSize}
     * (IP-Adapter's image_encoder folders ship none; their pipelines use the OpenAI settings).
     */
    public static ClipImageProcessor forModel(Path dir, int imageSize) throws IOException {
        Path file = dir.resolve("preprocessor_config.json");
        if (!Files.isRegularFile(file)) {
            return openai(imageSize);
        }
        ConfigJson c = ConfigJson.read(file);
        try {
            int shortest = c.json().has("size") && c.json().get("size").isJsonObject()
                    ? ConfigJson.of(file, c.json().getAsJsonObject("size")).getInt("shortest_edge")
                    : c.getInt("size", imageSize);
            int crop = c.json().has("crop_size") && c.json().get("crop_size").isJsonObject()
                    ? ConfigJson.of(file, c.json().getAsJsonObject("crop_size")).getInt("height")
                    : c.getInt("crop_size", imageSize);
            if (!c.getBool("do_resize", true) || !c.getBool("do_center_crop", true) || !c.getBool("do_rescale", true)
                    || !c.getBool("do_normalize", true)) {
                throw new IllegalArgumentException(file + ": do_resize, do_center_crop, do_rescale and do_normalize must"
                        + " be true (CLIP towers are trained on that pipeline)");
            }
            if (crop != imageSize) {
                throw new IllegalArgumentException(file + ": crop_size " + crop + " differs from the vision config's "
                        + "image_size " + imageSize);
            }
            return new ClipImageProcessor(shortest, crop, c.getDouble("rescale_factor", 1 / 255.0),
                    floats(c, "image_mean", OPENAI_MEAN), floats(c, "image_std", OPENAI_STD));
        } catch (IllegalArgumentException e) {
            throw e.getMessage().startsWith(file.toString()) ? e : new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    private static float[] floats(ConfigJson c, String field, float[] def) {
        if (!c.has(field)) {
            return def;
        }
        var a = c.json().getAsJsonArray(field);
        if (a == null || a.size() != 3) {
            throw new IllegalArgumentException(c.file() + ": field '" + field + "' must be a list of 3 numbers");
        }
        return new float[] {a.get(0).getAsFloat(), a.get(1).getAsFloat(), a.get(2).getAsFloat()};
    }

    /** The resized size {height, width} of step 1 for an {@code h} x {@code w} image. */
    public int[] resizedSize(int h, int w) {
        int shortSide = Math.min(h, w);
        int longSide = Math.max(h, w);
        if (shortSide == shortestEdge) {
            return new int[] {h, w};
        }
        int newLong = (int) ((double) shortestEdge * longSide / shortSide);
        return w <= h ? new int[] {newLong, shortestEdge} : new int[] {shortestEdge, newLong};
    }

    /** uint8 RGB images [N, 3, H, W] -> pixel_values float32 [N, 3, crop, crop] on the images' manager. */
    public NDArray apply(NDArray imagesU8) {
        Shape s = imagesU8.getShape();
        if (s.dimension() != 4 || s.get(1) != 3 || imagesU8.getDataType() != DataType.UINT8) {
            throw new IllegalArgumentException("expected uint8 RGB images [N, 3, H, W], got " + imagesU8.getDataType()
                    + " " + s);
        }
        int n = Math.toIntExact(s.get(0));
        int h = Math.toIntExact(s.get(2));
        int w = Math.toIntExact(s.get(3));
        int[] r = resizedSize(h, w);
        int top = (r[0] - cropSize) / 2;
        int left = (r[1] - cropSize) / 2;
        byte[] bytes = imagesU8.toByteArray();
        float[] out = new float[n * 3 * cropSize * cropSize];
        int[] plane = new int[h * w];
        for (int img = 0; img < n; img++) {
            for (int c = 0; c < 3; c++) {
                int base = (img * 3 + c) * h * w;
                for (int i = 0; i < plane.length; i++) {
                    plane[i] = bytes[base + i] & 0xFF;
                }
                int[] resized = r[0] == h && r[1] == w ? plane : PilBicubic.resizeU8(plane, w, h, r[1], r[0]);
                int o = (img * 3 + c) * cropSize * cropSize;
                for (int y = 0; y < cropSize; y++) {
                    for (int x = 0; x < cropSize; x++) {
                        float v = (float) (resized[(y + top) * r[1] + x + left] * rescaleFactor);
                        out[o + y * cropSize + x] = (v - mean[c]) / std[c];
                    }
                }
            }
        }
        NDManager m = imagesU8.getManager();
        return m.create(out, new Shape(n, 3, cropSize, cropSize));
    }
}
