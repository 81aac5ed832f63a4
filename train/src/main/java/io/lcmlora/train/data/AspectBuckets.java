package io.lcmlora.train.data;

import io.lcmlora.train.loop.Rng;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * SDXL multi-aspect buckets: sizes of about 1024^2 pixels in multiples of 64 (SDXL report, arXiv 2307.01952,
 * appendix; the list of Stability-AI generative-models' {@code SD_XL_BASE_RATIOS}, made symmetric), scaled to the
 * configured resolution. An image goes to the bucket with the closest aspect ratio (in log space).
 */
public final class AspectBuckets {
    /** (width, height) at 1024, ordered by aspect ratio w/h from 0.25 to 4. */
    static final int[][] SDXL_1024 = {
        {512, 2048}, {512, 1984}, {512, 1920}, {512, 1856}, {576, 1792}, {576, 1728}, {576, 1664}, {640, 1600},
        {640, 1536}, {704, 1472}, {704, 1408}, {704, 1344}, {768, 1344}, {768, 1280}, {832, 1216}, {832, 1152},
        {896, 1152}, {896, 1088}, {960, 1088}, {960, 1024}, {1024, 1024}, {1024, 960}, {1088, 960}, {1088, 896},
        {1152, 896}, {1152, 832}, {1216, 832}, {1280, 768}, {1344, 768}, {1344, 704}, {1408, 704}, {1472, 704},
        {1536, 640}, {1600, 640}, {1664, 576}, {1728, 576}, {1792, 576}, {1856, 512}, {1920, 512}, {1984, 512},
        {2048, 512}};

    /** One bucket's target size. */
    public record Bucket(int width, int height) {
        public double aspect() {
            return (double) width / height;
        }
    }

    private final List<Bucket> buckets;

    private AspectBuckets(List<Bucket> buckets) {
        this.buckets = List.copyOf(buckets);
    }

    /**
     * The SDXL list scaled by resolution / 1024, each side rounded to a multiple of 64 * resolution / 1024 (at least
     * 8, the VAE factor); sizes that coincide after rounding are kept once.
     */
    public static AspectBuckets forResolution(int resolution) {
        if (resolution < 8 || resolution % 8 != 0) {
            throw new IllegalArgumentException("resolution must be a positive multiple of 8, got " + resolution);
        }
        double s = resolution / 1024.0;
        int m = Math.max(8, (int) Math.round(64 * s / 8) * 8);
        Set<Bucket> out = new LinkedHashSet<>();
        for (int[] wh : SDXL_1024) {
            out.add(new Bucket(Math.max(m, (int) Math.round(wh[0] * s / m) * m), Math.max(m, (int) Math.round(wh[1] * s / m) * m)));
        }
        return new AspectBuckets(new ArrayList<>(out));
    }

    /** A single square bucket (buckets off). */
    public static AspectBuckets square(int resolution) {
        return new AspectBuckets(List.of(new Bucket(resolution, resolution)));
    }

    public List<Bucket> buckets() {
        return buckets;
    }

    /** Index of the bucket whose aspect ratio is closest to width/height (ties: the first). */
    public int assign(int width, int height) {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("image size must be positive, got " + width + "x" + height);
        }
        double target = Math.log((double) width / height);
        int best = 0;
        double bestD = Double.MAX_VALUE;
        for (int i = 0; i < buckets.size(); i++) {
            double d = Math.abs(Math.log(buckets.get(i).aspect()) - target);
            if (d < bestD - 1e-12) {
                bestD = d;
                best = i;
            }
        }
        return best;
    }

    public Bucket bucket(int index) {
        return buckets.get(index);
    }

    /**
     * One epoch of batches, each from a single bucket: examples shuffled, grouped by bucket in shuffled order, cut
     * into full batches (a bucket's remainder is dropped this epoch), and the batches shuffled.
     */
    public static List<int[]> batches(int[] bucketOfExample, int batchSize, Rng rng) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        }
        Map<Integer, List<Integer>> byBucket = new LinkedHashMap<>();
        for (int i : rng.permutation(bucketOfExample.length)) {
            byBucket.computeIfAbsent(bucketOfExample[i], b -> new ArrayList<>()).add(i);
        }
        List<int[]> out = new ArrayList<>();
        for (List<Integer> members : byBucket.values()) {
            for (int start = 0; start + batchSize <= members.size(); start += batchSize) {
                out.add(members.subList(start, start + batchSize).stream().mapToInt(Integer::intValue).toArray());
            }
        }
        int[] order = rng.permutation(out.size());
        List<int[]> shuffled = new ArrayList<>(out.size());
        for (int i : order) {
            shuffled.add(out.get(i));
        }
        return shuffled;
    }
}
