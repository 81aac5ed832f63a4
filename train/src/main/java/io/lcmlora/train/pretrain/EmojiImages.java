package io.lcmlora.train.pretrain;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonObject;
import io.lcmlora.eval.ImageFolder;
import io.lcmlora.nn.NoGrad;
import io.lcmlora.train.emoji.EmojiManifest;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.BiConsumer;

/**
 * One split of one built emoji style as training data: pixels in [-1, 1] (the VAE's input range) and captions,
 * in manifest order.
 *
 * @param pixels [N, 3, S, S] row-major
 * @param size S
 * @param captions one per image
 * @param images the image paths (for messages)
 */
record EmojiImages(float[] pixels, int size, List<String> captions, List<Path> images) {

    int count() {
        return captions.size();
    }

    /**
     * Calls {@code f(first, images)} on consecutive batches of at most {@code batch} images ([k, 3, S, S]), without
     * gradients, each inside its own {@link NDScope} (arrays made in {@code f} are freed after it returns).
     */
    void forEachBatch(NDManager m, int batch, BiConsumer<Integer, NDArray> f) {
        int row = 3 * size * size;
        try (NoGrad ng = NoGrad.open()) {
            for (int from = 0; from < count(); from += batch) {
                int k = Math.min(batch, count() - from);
                try (NDScope scope = new NDScope()) {
                    f.accept(from, m.create(Arrays.copyOfRange(pixels, from * row, (from + k) * row), new Shape(k, 3, size, size)));
                }
            }
        }
    }

    /** {@code data/<style>/manifest-32.jsonl} (32 px) or {@code manifest.jsonl} (64 px), rows of {@code split}. */
    static EmojiImages load(Path data, String style, int resolution, String split) throws IOException {
        Path manifest = manifest(data, style, resolution);
        List<BufferedImage> decoded = new ArrayList<>();
        List<Path> files = new ArrayList<>();
        List<String> captions = new ArrayList<>();
        for (JsonObject r : EmojiManifest.readManifest(manifest)) {
            if (!split.equals(r.get("split").getAsString())) {
                continue;
            }
            Path f = manifest.getParent().resolve(r.get("image").getAsString());
            decoded.add(ImageFolder.read(f));
            files.add(f);
            captions.add(r.get("caption").getAsString());
        }
        if (decoded.isEmpty()) {
            throw new IOException(manifest + ": no '" + split + "' rows");
        }
        byte[] rgb;
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray u8 = ImageFolder.load(decoded, files, m); // [N, 3, S, S] uint8; other sizes are errors
            if (u8.getShape().get(2) != resolution || u8.getShape().get(3) != resolution) {
                throw new IOException(manifest + ": images are " + u8.getShape().get(3) + "x" + u8.getShape().get(2)
                        + ", expected " + resolution + "x" + resolution);
            }
            rgb = u8.toByteArray();
        }
        float[] pixels = new float[rgb.length];
        for (int i = 0; i < rgb.length; i++) {
            pixels[i] = (rgb[i] & 0xff) / 127.5f - 1f;
        }
        return new EmojiImages(pixels, resolution, List.copyOf(captions), List.copyOf(files));
    }

    /** The captions of one split, without decoding images. */
    static List<String> captions(Path data, String style, int resolution, String split) throws IOException {
        List<String> out = new ArrayList<>();
        for (JsonObject r : EmojiManifest.readManifest(manifest(data, style, resolution))) {
            if (split.equals(r.get("split").getAsString())) {
                out.add(r.get("caption").getAsString());
            }
        }
        return out;
    }

    private static Path manifest(Path data, String style, int resolution) throws IOException {
        Path manifest = data.resolve(style).resolve(resolution == 32 ? "manifest-32.jsonl" : "manifest.jsonl");
        if (!Files.isRegularFile(manifest)) {
            throw new IOException(manifest + ": not found (build the emoji sets with `lcm data emoji`)");
        }
        return manifest;
    }
}
