package io.lcmlora.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * FID statistics of image sets and the report comparing two of them. Features are streamed batch by batch
 * into a {@link FeatureStats}; a batch ends early where the image size changes (a batch is one tensor).
 */
public final class FidStats {
    private FidStats() {}

    /** Statistics of every image in {@code dir}; {@code progress} (may be null) gets a line per batch. */
    public static FeatureStats ofFolder(Path dir, FeatureExtractor extractor, int batchSize, Consumer<String> progress)
            throws IOException {
        return ofFiles(ImageFolder.list(dir), extractor, batchSize, progress);
    }

    /** Statistics of the given image files, in order; {@code progress} (may be null) gets a line per batch. */
    public static FeatureStats ofFiles(List<Path> files, FeatureExtractor extractor, int batchSize,
            Consumer<String> progress) throws IOException {
        FeatureStats stats = FeatureStats.of(extractor);
        forEachBatch(files, extractor, batchSize, rows -> {
            stats.add(rows);
            report(progress, stats, files.size());
        });
        return stats;
    }

    /**
     * Feature rows of the given image files, in file order, handed over batch by batch: at most {@code batchSize}
     * images per forward pass, a new batch whenever the image size changes.
     */
    public static void forEachBatch(List<Path> files, FeatureExtractor extractor, int batchSize,
            Consumer<double[][]> rows) throws IOException {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be positive, got " + batchSize);
        }
        List<BufferedImage> batch = new ArrayList<>();
        List<Path> names = new ArrayList<>();
        for (Path f : files) {
            BufferedImage img = ImageFolder.read(f);
            if (!batch.isEmpty() && (batch.size() == batchSize || img.getWidth() != batch.get(0).getWidth()
                    || img.getHeight() != batch.get(0).getHeight())) {
                runBatch(extractor, batch, names, rows);
            }
            batch.add(img);
            names.add(f);
        }
        if (!batch.isEmpty()) {
            runBatch(extractor, batch, names, rows);
        }
    }

    private static void runBatch(FeatureExtractor extractor, List<BufferedImage> batch, List<Path> names,
            Consumer<double[][]> rows) {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray images = ImageFolder.load(batch, names, m);
            rows.accept(extractor.features(images));
        }
        batch.clear();
        names.clear();
    }

    private static void report(Consumer<String> progress, FeatureStats stats, int total) {
        if (progress != null) {
            progress.accept("features: " + stats.count() + "/" + total + " images");
        }
    }

    /** A FID value with everything needed to judge it: both sample counts, the dimension and the extractors. */
    public record Report(double fid, long samplesA, long samplesB, int dims, String extractorA, String extractorB,
            FrechetDistance.Result parts, List<String> warnings) {
        /** Report lines ({@code key: value}); the first one holds the FID. */
        public List<String> lines() {
            List<String> out = new ArrayList<>();
            out.add("fid: " + fid);
            out.add("samples_a: " + samplesA);
            out.add("samples_b: " + samplesB);
            out.add("dims: " + dims);
            out.add("extractor_a: " + extractorA);
            out.add("extractor_b: " + extractorB);
            for (String w : warnings) {
                out.add("warning: " + w);
            }
            return out;
        }
    }

    /** The warnings FID needs: too few samples for the dimension, and stats of different extractors. */
    public static List<String> warnings(FeatureStats a, FeatureStats b) {
        List<String> w = new ArrayList<>();
        for (FeatureStats s : List.of(a, b)) {
            if (s.count() < s.dim()) {
                w.add((s == a ? "set A" : "set B") + " has " + s.count() + " samples, fewer than the " + s.dim()
                        + " feature dimensions: its covariance is singular and FID is unreliable (biased; compare only"
                        + " values computed with the same sample counts)");
            }
        }
        if (!a.extractor().equals(b.extractor())) {
            w.add("the two stats come from different extractors or preprocessing: '" + a.extractor() + "' vs '"
                    + b.extractor() + "'; the FID is not meaningful");
        }
        return w;
    }

    /** FID of B against the reference A, with counts and warnings. */
    public static Report compare(FeatureStats a, FeatureStats b) {
        return compare(new FrechetDistance.Reference(a), a, b);
    }

    /** As {@link #compare(FeatureStats, FeatureStats)} with A's square root already computed (sweeps). */
    public static Report compare(FrechetDistance.Reference reference, FeatureStats a, FeatureStats b) {
        if (a.dim() != b.dim()) {
            throw new IllegalArgumentException("feature dimensions differ: " + a.dim() + " vs " + b.dim());
        }
        FrechetDistance.Result r = reference.distance(b);
        return new Report(r.value(), a.count(), b.count(), a.dim(), a.extractor(), b.extractor(), r, warnings(a, b));
    }
}
