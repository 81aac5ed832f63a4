package io.lcmlora.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.lcmlora.nn.Ops;
import java.util.Arrays;

/**
 * How uint8 RGB images become the Inception input ([N, 3, 299, 299] float32 in [-1, 1]). FID values from
 * different modes are not comparable; every stats file and report names the mode.
 */
public enum Preprocessing {
    /**
     * pytorch-fid: {@code x/255}, {@code F.interpolate(size=299, mode="bilinear", align_corners=False)} (no
     * antialiasing), then {@code 2x - 1}.
     */
    PYTORCH_FID("pytorch-fid", "uint8/255 -> bilinear resize to 299 (align_corners=False, no antialias) -> 2x-1"),
    /**
     * clean-fid's "clean" mode: each channel resized as a float image with PIL's bicubic filter (antialiased,
     * {@link PilBicubic}), clipped to [0, 255], then {@code (x - 128) / 128} as clean-fid's InceptionV3W does.
     */
    CLEAN_FID("clean-fid", "PIL bicubic resize of the uint8 image to 299 (float, per channel) -> clip [0,255] -> (x-128)/128");

    private final String id;
    private final String description;

    Preprocessing(String id, String description) {
        this.id = id;
        this.description = description;
    }

    /** The name used on the command line and in stats files. */
    public String id() {
        return id;
    }

    public String description() {
        return description;
    }

    public static Preprocessing parse(String s) {
        for (Preprocessing p : values()) {
            if (p.id.equalsIgnoreCase(s) || p.name().equalsIgnoreCase(s)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown preprocessing '" + s + "', expected one of "
                + Arrays.stream(values()).map(Preprocessing::id).toList());
    }

    /** uint8 [N, 3, H, W] -> float32 [N, 3, size, size], the network's input range [-1, 1]. */
    public NDArray apply(NDArray imagesU8, int size) {
        Shape s = imagesU8.getShape();
        if (s.dimension() != 4 || s.get(1) != 3 || imagesU8.getDataType() != DataType.UINT8) {
            throw new IllegalArgumentException("expected uint8 RGB images [N, 3, H, W], got "
                    + imagesU8.getDataType() + " " + s);
        }
        return switch (this) {
            case PYTORCH_FID -> {
                NDArray x = imagesU8.toType(DataType.FLOAT32, false);
                NDArray unit = x.div(Ops.scalar(x, 255.0));
                NDArray resized = Ops.resizeBilinear(unit, size, size);
                yield Ops.addScalar(Ops.mulScalar(resized, 2.0), -1.0);
            }
            case CLEAN_FID -> cleanFid(imagesU8, size);
        };
    }

    private static NDArray cleanFid(NDArray imagesU8, int size) {
        Shape s = imagesU8.getShape();
        int n = Math.toIntExact(s.get(0));
        int h = Math.toIntExact(s.get(2));
        int w = Math.toIntExact(s.get(3));
        byte[] bytes = imagesU8.toByteArray();
        float[] out = new float[n * 3 * size * size];
        float[] plane = new float[h * w];
        for (int c = 0; c < n * 3; c++) {
            for (int i = 0; i < plane.length; i++) {
                plane[i] = bytes[c * plane.length + i] & 0xFF;
            }
            float[] r = PilBicubic.resize(plane, w, h, size, size);
            int base = c * size * size;
            for (int i = 0; i < r.length; i++) {
                float v = Math.min(Math.max(r[i], 0f), 255f);
                out[base + i] = (v - 128f) / 128f;
            }
        }
        NDManager m = imagesU8.getManager();
        return m.create(out, new Shape(n, 3, size, size));
    }
}
