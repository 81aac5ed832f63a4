package io.lcmlora.model.vae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.lcmlora.io.ComponentPath;
import io.lcmlora.io.ModelWeights;
import io.lcmlora.nn.Conv2d;
import io.lcmlora.nn.NoGrad;
import io.lcmlora.nn.Scopes;
import io.lcmlora.nn.Weights;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * diffusers {@code AutoencoderKL} (v0.25.1): {@code encoder} + {@code quant_conv} (1x1) give the moments of a
 * {@link DiagonalGaussianDistribution}; {@code post_quant_conv} (1x1) + {@code decoder} turn latents into images.
 * The latent scaling ({@code scaling_factor}) is the pipeline's job: {@link #decode} takes unscaled latents and
 * {@link #encode} returns unscaled ones.
 *
 * <p>encode/decode run without autograd (the training forms are {@link #momentsForTraining} and
 * {@link #decodeForTraining}) and free their intermediates block by block. {@link Chunking} gives diffusers' memory options:
 * slicing (one batch element at a time; mathematically exact) and tiling (overlapping tiles, blended linearly across
 * the overlap; not exact, because GroupNorm statistics and convolution borders are per tile).
 */
public final class AutoencoderKL {
    /**
     * How encode/decode split the work (diffusers' {@code enable_slicing} / {@code enable_tiling}).
     *
     * @param sliced run the batch one element at a time
     * @param tileSampleSize image tile size in pixels (diffusers' {@code tile_sample_min_size}); 0 = no tiling.
     *     Inputs larger than one tile (pixels for encode, {@code tileSampleSize / 2^(blocks-1)} latents for decode)
     *     are tiled.
     * @param tileOverlap fraction of a tile shared with its neighbour ({@code tile_overlap_factor}, 0.25)
     */
    public record Chunking(boolean sliced, int tileSampleSize, double tileOverlap) {
        public static final double DEFAULT_OVERLAP = 0.25;

        public Chunking {
            if (tileSampleSize < 0 || !(tileOverlap >= 0 && tileOverlap < 1)) {
                throw new IllegalArgumentException("tile size " + tileSampleSize + " must be >= 0 and overlap "
                        + tileOverlap + " in [0, 1)");
            }
        }

        public static Chunking none() {
            return new Chunking(false, 0, DEFAULT_OVERLAP);
        }

        public static Chunking slicing() {
            return new Chunking(true, 0, DEFAULT_OVERLAP);
        }

        /** Tiles of {@code tileSampleSize} pixels; diffusers' enable_tiling() uses the config's sample_size. */
        public static Chunking tiled(int tileSampleSize) {
            if (tileSampleSize <= 0) {
                throw new IllegalArgumentException("tile size must be positive, got " + tileSampleSize);
            }
            return new Chunking(false, tileSampleSize, DEFAULT_OVERLAP);
        }

        public boolean tiled() {
            return tileSampleSize > 0;
        }
    }

    private final AutoencoderKLConfig config;
    private final Encoder encoder;
    private final Decoder decoder;
    private final Conv2d quantConv;
    private final Conv2d postQuantConv;

    public AutoencoderKL(Weights vb, AutoencoderKLConfig c) {
        config = c;
        encoder = new Encoder(vb.pp("encoder"), c);
        decoder = new Decoder(vb.pp("decoder"), c);
        long lat = c.latentChannels();
        quantConv = new Conv2d(vb.pp("quant_conv"), 2 * lat, 2 * lat, 1, 1, 0);
        postQuantConv = new Conv2d(vb.pp("post_quant_conv"), lat, lat, 1, 1, 0);
        vb.register(this);
    }

    public AutoencoderKLConfig config() {
        return config;
    }

    /**
     * Loads a diffusers VAE folder (or a pipeline folder's vae/): config.json and the safetensors weights, floating
     * tensors as {@code dtype} (the {@code .fp16} weight variant is preferred for FLOAT16). Every file tensor must be a
     * parameter and every parameter must be in the file with its shape.
     */
    public static AutoencoderKL load(Path model, NDManager manager, DataType dtype) throws IOException {
        if (dtype != DataType.FLOAT32 && dtype != DataType.FLOAT16) {
            throw new IllegalArgumentException("VAE dtype must be float32 or float16, got " + dtype);
        }
        Path dir = ComponentPath.resolve(model, "vae");
        AutoencoderKLConfig cfg = AutoencoderKLConfig.read(dir.resolve("config.json"));
        List<Path> files = ModelWeights.files(dir, dtype == DataType.FLOAT16 ? "fp16" : null);
        Map<String, NDArray> tensors = ModelWeights.load(files, manager, dtype);
        Weights vb = Weights.of(manager, tensors, ModelWeights.describe(files));
        AutoencoderKL vae = new AutoencoderKL(vb, cfg);
        vb.checkAllUsed(Set.of());
        return vae;
    }

    /** The latent tile size for a pixel tile size: diffusers' {@code int(sample_size / 2^(blocks-1))}. */
    public int latentTile(int tileSampleSize) {
        return tileSampleSize / config.downscale();
    }

    public DiagonalGaussianDistribution encode(NDArray image) {
        return encode(image, Chunking.none());
    }

    /** image [B, in, H, W] in [-1, 1] -> the latent distribution over [B, latent, H/f, W/f] (unscaled). */
    public DiagonalGaussianDistribution encode(NDArray image, Chunking ch) {
        checkInput(image, config.inChannels(), "image");
        Shape s = image.getShape();
        try (NoGrad ng = NoGrad.open()) {
            NDArray moments;
            if (ch.tiled() && (s.get(2) > ch.tileSampleSize() || s.get(3) > ch.tileSampleSize())) {
                moments = tiled(image, ch.tileSampleSize(), latentTile(ch.tileSampleSize()), ch.tileOverlap(), this::moments);
            } else if (ch.sliced() && s.get(0) > 1) {
                moments = perSample(image, this::moments);
            } else {
                moments = moments(image);
            }
            return DiagonalGaussianDistribution.fromMoments(moments);
        }
    }

    public NDArray decode(NDArray latents) {
        return decode(latents, Chunking.none());
    }

    /** latents [B, latent, h, w] (unscaled: already divided by scaling_factor) -> image [B, out, h*f, w*f], not clamped. */
    public NDArray decode(NDArray latents, Chunking ch) {
        checkInput(latents, config.latentChannels(), "latents");
        try (NoGrad ng = NoGrad.open()) {
            if (ch.sliced() && latents.getShape().get(0) > 1) {
                return perSample(latents, z -> decodeOne(z, ch));
            }
            return decodeOne(latents, ch);
        }
    }

    /** diffusers' {@code _decode}: tiled when the latents exceed one latent tile. */
    private NDArray decodeOne(NDArray z, Chunking ch) {
        Shape s = z.getShape();
        if (ch.tiled()) {
            int tl = latentTile(ch.tileSampleSize());
            if (s.get(2) > tl || s.get(3) > tl) {
                return tiled(z, tl, ch.tileSampleSize(), ch.tileOverlap(), this::decodeTile);
            }
        }
        return decodeTile(z);
    }

    /**
     * The encoder's moments with autograd recorded (training; {@link #encode} runs without): quant_conv(encoder(x)),
     * [B, in, H, W] -> [B, 2*latent, H/f, W/f], to split with {@link DiagonalGaussianDistribution#fromMoments}.
     */
    public NDArray momentsForTraining(NDArray image) {
        checkInput(image, config.inChannels(), "image");
        return moments(image);
    }

    /** decoder(post_quant_conv(z)) with autograd recorded (training; {@link #decode} runs without). */
    public NDArray decodeForTraining(NDArray latents) {
        checkInput(latents, config.latentChannels(), "latents");
        return decodeTile(latents);
    }

    /** quant_conv(encoder(x)): [B, in, H, W] -> [B, 2*latent, H/f, W/f]. */
    private NDArray moments(NDArray x) {
        return Scopes.keepOnly(quantConv::forward, encoder.forward(x), x);
    }

    /** decoder(post_quant_conv(z)). */
    private NDArray decodeTile(NDArray z) {
        return Scopes.keepOnly(decoder::forward, postQuantConv.forward(z), z);
    }

    /** f applied to each batch element, concatenated (diffusers' slicing). */
    private static NDArray perSample(NDArray x, UnaryOperator<NDArray> f) {
        NDList outs = new NDList();
        for (NDArray one : x.split(x.getShape().get(0), 0)) {
            outs.add(f.apply(one));
            one.close();
        }
        NDArray out = NDArrays.concat(outs, 0);
        outs.close();
        return out;
    }

    /**
     * diffusers' tiled_encode / tiled_decode: tiles of {@code inTile} start every {@code int(inTile * (1 - overlap))};
     * each becomes an output tile of up to {@code outTile}; each output tile is blended with the (already blended) tile
     * above and the one to its left over {@code int(outTile * overlap)} rows/columns, then cropped to
     * {@code outTile - blend} and the crops are concatenated.
     */
    static NDArray tiled(NDArray x, int inTile, int outTile, double overlap, UnaryOperator<NDArray> f) {
        int step = (int) (inTile * (1 - overlap));
        int blend = (int) (outTile * overlap);
        int limit = outTile - blend;
        if (step <= 0 || limit <= 0) {
            throw new IllegalArgumentException("tile of " + inTile + " with overlap " + overlap + " is too small to tile");
        }
        // diffusers does not check this: otherwise the crops do not add up to the output size
        if ((long) step * outTile != (long) limit * inTile) {
            throw new IllegalArgumentException("input tiles of " + inTile + " (output tiles of " + outTile + ") with overlap "
                    + overlap + " do not tile evenly: they start every " + step + " but are cropped to " + limit
                    + "; with overlap 0.25 use a pixel tile size that is a multiple of 4 * 2^(blocks-1)");
        }
        long height = x.getShape().get(2);
        long width = x.getShape().get(3);
        int rows = (int) ((height + step - 1) / step);
        int cols = (int) ((width + step - 1) / step);
        NDArray[][] tiles = new NDArray[rows][cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                long i = (long) r * step;
                long j = (long) c * step;
                NDArray in = x.get(new NDIndex(":, :, {}:{}, {}:{}", i, Math.min(i + inTile, height), j,
                        Math.min(j + inTile, width)));
                tiles[r][c] = f.apply(in);
                in.close();
            }
        }
        NDList rowOuts = new NDList();
        for (int r = 0; r < rows; r++) {
            NDList crops = new NDList();
            for (int c = 0; c < cols; c++) {
                NDArray t = tiles[r][c];
                if (r > 0) {
                    t = replace(t, blend(tiles[r - 1][c], t, blend, 2));
                }
                if (c > 0) {
                    t = replace(t, blend(tiles[r][c - 1], t, blend, 3));
                }
                tiles[r][c] = t; // later neighbours blend with this blended tile, as diffusers' in-place update does
                crops.add(t.get(new NDIndex(":, :, :{}, :{}", Math.min(limit, t.getShape().get(2)),
                        Math.min(limit, t.getShape().get(3)))));
            }
            rowOuts.add(NDArrays.concat(crops, 3));
        }
        return NDArrays.concat(rowOuts, 2);
    }

    private static NDArray replace(NDArray old, NDArray updated) {
        if (updated != old) {
            old.close();
        }
        return updated;
    }

    /**
     * diffusers' blend_v (axis 2) / blend_h (axis 3): over the first {@code e = min(len(a), len(b), extent)} positions
     * {@code y} of b along the axis, {@code a[-e + y] * (1 - y/e) + b[y] * (y/e)}; the rest of b unchanged.
     */
    static NDArray blend(NDArray a, NDArray b, int extent, int axis) {
        long la = a.getShape().get(axis);
        long lb = b.getShape().get(axis);
        int e = (int) Math.min(Math.min(la, lb), extent);
        if (e == 0) {
            return b;
        }
        float[] wa = new float[e];
        float[] wb = new float[e];
        for (int y = 0; y < e; y++) {
            double t = (double) y / e;
            wa[y] = (float) (1 - t);
            wb[y] = (float) t;
        }
        long[] wShape = axis == 2 ? new long[] {1, 1, e, 1} : new long[] {1, 1, 1, e};
        NDManager m = b.getManager();
        NDArray weightA = m.create(wa, new Shape(wShape)).toType(b.getDataType(), false);
        NDArray weightB = m.create(wb, new Shape(wShape)).toType(b.getDataType(), false);
        String head = axis == 2 ? ":, :, {}:{}" : ":, :, :, {}:{}";
        NDArray mixed = a.get(new NDIndex(head, la - e, la)).mul(weightA)
                .add(b.get(new NDIndex(head, 0, e)).mul(weightB));
        return NDArrays.concat(new NDList(mixed, b.get(new NDIndex(head, e, lb))), axis);
    }

    private static void checkInput(NDArray x, int channels, String what) {
        long[] s = x.getShape().getShape();
        if (s.length != 4 || s[1] != channels) {
            throw new IllegalArgumentException(what + " has shape " + Arrays.toString(s) + ", expected [B, " + channels
                    + ", H, W]");
        }
    }
}
