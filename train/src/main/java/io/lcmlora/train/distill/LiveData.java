package io.lcmlora.train.distill;

import io.lcmlora.train.config.TrainConfig;
import io.lcmlora.train.data.ImageCaptionSource;
import io.lcmlora.train.data.ImageDataset;
import io.lcmlora.train.loop.Rng;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code cache.enabled: false}: every example is decoded, transformed (random crop/flip drawn per use, as the
 * reference script does each epoch) and encoded by the VAE and text encoders when a batch needs it. The usable
 * examples and their buckets come from one decoding pass at start.
 */
public final class LiveData implements TrainingData {
    private final ImageCaptionSource source;
    private final ImageDataset dataset;
    private final ConditioningEncoder encoder;
    private final int[] indices;
    private final int[] buckets;

    private LiveData(ImageCaptionSource source, ImageDataset dataset, ConditioningEncoder encoder, int[] indices,
            int[] buckets) {
        this.source = source;
        this.dataset = dataset;
        this.encoder = encoder;
        this.indices = indices;
        this.buckets = buckets;
    }

    public static LiveData open(TrainConfig config, ConditioningEncoder encoder) throws IOException {
        ImageCaptionSource source = ImageCaptionSource.open(config.data());
        try {
            ImageDataset dataset = ImageDataset.of(source, config.data());
            // Which examples are usable and their buckets do not depend on the crop/flip draws: the probe decodes on
            // data.num_workers threads with per-example streams.
            List<int[]> usable = new ArrayList<>();
            dataset.forEach(config.data().numWorkers(), i -> Rng.stream(config.seed(), "live-probe/" + i),
                    x -> usable.add(new int[] {x.index(), x.bucket()}));
            if (usable.isEmpty()) {
                throw new IOException("no usable example in " + config.data().paths() + " (" + dataset.skips().report() + ")");
            }
            return new LiveData(source, dataset, encoder, usable.stream().mapToInt(a -> a[0]).toArray(),
                    usable.stream().mapToInt(a -> a[1]).toArray());
        } catch (IOException | RuntimeException e) {
            source.close();
            throw e;
        }
    }

    @Override
    public int size() {
        return indices.length;
    }

    @Override
    public int[] buckets() {
        return buckets.clone();
    }

    @Override
    public double scalingFactor() {
        return encoder.scalingFactor();
    }

    @Override
    public boolean encodersLoaded() {
        return true;
    }

    @Override
    public CachedExample get(int position, Rng augment) throws IOException {
        return batch(new int[] {position}, augment).get(0);
    }

    /** Decodes and transforms the batch's images, then encodes them in one VAE and one text-encoder pass. */
    @Override
    public List<CachedExample> batch(int[] positions, Rng augment) throws IOException {
        List<ImageDataset.Example> examples = new ArrayList<>();
        for (int p : positions) {
            int index = indices[p];
            examples.add(dataset.load(index, augment).orElseThrow(() -> new IOException("example " + index + " ("
                    + source.id(index) + ") was readable at start but not now: " + dataset.skips().report())));
        }
        return encoder.encode(examples);
    }

    /** The skip counts by reason so far (see {@link io.lcmlora.train.data.SkipCounter#report()}). */
    public String skipReport() {
        return dataset.skips().report();
    }

    @Override
    public void close() throws IOException {
        encoder.close();
        source.close();
    }
}
