package io.lcmlora.train.data;

import io.lcmlora.train.config.DataConfig;
import io.lcmlora.train.loop.Rng;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.util.Optional;

/**
 * Examples ready for the VAE: read from a source, decoded, bucketed and transformed. An example that cannot be
 * used (unreadable or oversized image, missing caption, I/O error) is counted in {@link #skips()} and
 * {@link #load} returns empty; it never stops training.
 */
public final class ImageDataset {
    /** One transformed example; {@code bucket} is its index in {@link #buckets()}. */
    public record Example(int index, String id, String caption, Preprocess.Processed image, int bucket) {}

    private final ImageCaptionSource source;
    private final Preprocess preprocess;
    private final AspectBuckets buckets;

    public ImageDataset(ImageCaptionSource source, Preprocess preprocess, AspectBuckets buckets) {
        this.source = source;
        this.preprocess = preprocess;
        this.buckets = buckets;
    }

    /** Source, transform and buckets (SDXL buckets when {@code data.buckets}, else one square) from the config. */
    public static ImageDataset of(ImageCaptionSource source, DataConfig d) {
        return new ImageDataset(source, Preprocess.of(d),
                d.buckets() ? AspectBuckets.forResolution(d.resolution()) : AspectBuckets.square(d.resolution()));
    }

    public int size() {
        return source.size();
    }

    public AspectBuckets buckets() {
        return buckets;
    }

    public SkipCounter skips() {
        return source.skips();
    }

    public ImageCaptionSource source() {
        return source;
    }

    /** Loads example {@code index}; random crop/flip draw from {@code rng}. Empty (and counted) when unusable. */
    public Optional<Example> load(int index, Rng rng) {
        String id = source.id(index);
        try {
            RawSample raw = source.read(index);
            BufferedImage img = ImageDecoder.decode(raw.image(), id);
            int bucket = buckets.assign(img.getWidth(), img.getHeight());
            AspectBuckets.Bucket b = buckets.bucket(bucket);
            Preprocess.Processed p = preprocess.apply(img, b.height(), b.width(), raw.originalWidth(),
                    raw.originalHeight(), rng);
            return Optional.of(new Example(index, id, raw.caption(), p, bucket));
        } catch (SkipException e) {
            skips().skip(e.reason(), id);
        } catch (TarReader.TarException e) {
            skips().skip(e.reason(), e.getMessage());
        } catch (IOException e) {
            skips().skip("read error", id + " (" + e.getMessage() + ")");
        }
        return Optional.empty();
    }
}
