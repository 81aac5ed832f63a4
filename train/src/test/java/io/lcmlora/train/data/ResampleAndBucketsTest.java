package io.lcmlora.train.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lcmlora.train.config.DataConfig.Interpolation;
import io.lcmlora.train.loop.Rng;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ResampleAndBucketsTest {
    @Test
    void halvingARampWithTheTriangleFilterGivesPairMeans() {
        // f(x) = 3x + 1 on 16 columns; the anti-aliased 2x bilinear filter is the triangle of radius 2 around
        // 2o + 1, weights (1, 3, 3, 1) / 8, whose mean on a linear ramp is f(2o + 0.5) = mean of the pair.
        int w = 16;
        float[] row = new float[w * 2];
        for (int y = 0; y < 2; y++) {
            for (int x = 0; x < w; x++) {
                row[y * w + x] = 3 * x + 1;
            }
        }
        float[] out = Resample.resize(new float[][] {row}, w, 2, w / 2, 1, Interpolation.BILINEAR)[0];
        for (int o = 1; o < w / 2 - 1; o++) { // interior: the borders renormalise the clipped kernel
            assertEquals((3 * (2 * o) + 1 + 3 * (2 * o + 1) + 1) / 2.0, out[o], 1e-4, "o=" + o);
        }
        // Upsampling by 2 with the triangle filter interpolates linearly between centres.
        float[] up = Resample.resize(new float[][] {{0, 4, 8, 12}}, 4, 1, 8, 1, Interpolation.BILINEAR)[0];
        // Output 2 sits at input position 1.25, between the pixel centres 0.5 (value 0) and 1.5 (value 4).
        assertEquals(3.0, up[2], 1e-6);
        assertEquals(7.0, up[4], 1e-6);
        // Weights are normalised for both filters.
        for (Interpolation f : Interpolation.values()) {
            Resample.Weights wts = Resample.weights(1000, 333, f);
            for (double[] k : wts.k()) {
                double s = 0;
                for (double v : k) {
                    s += v;
                }
                assertEquals(1.0, s, 1e-12);
            }
        }
        assertEquals(1.0, Resample.kernel(0, Interpolation.BICUBIC));
        assertEquals(0.0, Resample.kernel(1, Interpolation.BICUBIC), 1e-15);
        assertEquals(-0.0625, Resample.kernel(1.5, Interpolation.BICUBIC), 1e-12); // (1.5^3 - 5*1.5^2 + 8*1.5 - 4) * -0.5
    }

    @Test
    void sdxlBucketsAndAssignment() {
        AspectBuckets b = AspectBuckets.forResolution(1024);
        assertEquals(41, b.buckets().size());
        for (AspectBuckets.Bucket k : b.buckets()) {
            assertEquals(0, k.width() % 64);
            assertEquals(0, k.height() % 64);
            double area = (double) k.width() * k.height() / (1024 * 1024);
            assertTrue(area > 0.9 && area <= 1.0, k + " area " + area);
            assertTrue(b.buckets().contains(new AspectBuckets.Bucket(k.height(), k.width())), "mirror of " + k);
        }
        assertEquals(new AspectBuckets.Bucket(1024, 1024), b.bucket(b.assign(777, 777)));
        assertEquals(new AspectBuckets.Bucket(1344, 768), b.bucket(b.assign(1920, 1080))); // 16:9 -> 1.75
        assertEquals(new AspectBuckets.Bucket(768, 1344), b.bucket(b.assign(1080, 1920)));
        assertEquals(new AspectBuckets.Bucket(2048, 512), b.bucket(b.assign(10000, 100)));
        AspectBuckets half = AspectBuckets.forResolution(512);
        assertEquals(41, half.buckets().size());
        assertEquals(new AspectBuckets.Bucket(672, 384), half.bucket(half.assign(1920, 1080)));
        AspectBuckets tiny = AspectBuckets.forResolution(64);
        for (AspectBuckets.Bucket k : tiny.buckets()) {
            assertEquals(0, k.width() % 8);
            assertEquals(0, k.height() % 8);
        }
        assertEquals(new AspectBuckets.Bucket(64, 64), tiny.bucket(tiny.assign(5, 5)));
    }

    @Test
    void batchesComeFromOneBucketEach() {
        int[] bucketOf = new int[103];
        for (int i = 0; i < bucketOf.length; i++) {
            bucketOf[i] = i % 3 == 0 ? 7 : i % 5;
        }
        List<int[]> batches = AspectBuckets.batches(bucketOf, 4, Rng.seeded(3));
        Set<Integer> seen = new HashSet<>();
        int expected = 0;
        int[] sizes = new int[8];
        for (int v : bucketOf) {
            sizes[v]++;
        }
        for (int s : sizes) {
            expected += s / 4;
        }
        assertEquals(expected, batches.size());
        for (int[] batch : batches) {
            assertEquals(4, batch.length);
            for (int i : batch) {
                assertEquals(bucketOf[batch[0]], bucketOf[i]);
                assertTrue(seen.add(i), "repeated " + i);
            }
        }
        List<int[]> again = AspectBuckets.batches(bucketOf, 4, Rng.seeded(3));
        for (int i = 0; i < batches.size(); i++) {
            assertEquals(java.util.Arrays.toString(batches.get(i)), java.util.Arrays.toString(again.get(i)));
        }
    }
}
