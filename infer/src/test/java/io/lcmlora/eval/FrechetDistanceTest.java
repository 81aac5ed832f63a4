package io.lcmlora.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lcmlora.io.SafeTensorsFile;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Statistics and the Fréchet distance against pytorch-fid 0.3.0 + scipy (golden fid/frechet.safetensors). */
class FrechetDistanceTest {
    private static final Path GOLDEN = Path.of(System.getProperty("golden.dir"));

    /** Streams the rows in uneven batches so that the pairwise merge is exercised. */
    static FeatureStats stats(float[] act, int n, int d) {
        FeatureStats s = new FeatureStats(d, "golden");
        int i = 0;
        int batch = 1;
        while (i < n) {
            int b = Math.min(batch, n - i);
            float[] part = new float[b * d];
            System.arraycopy(act, i * d, part, 0, b * d);
            s.add(part, b);
            i += b;
            batch += 3;
        }
        return s;
    }

    static double maxAbsDiff(double[][] a, double[] flat) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            for (int j = 0; j < a.length; j++) {
                m = Math.max(m, Math.abs(a[i][j] - flat[i * a.length + j]));
            }
        }
        return m;
    }

    @Test
    void statsMatchNumpyMeanAndCov() throws Exception {
        try (SafeTensorsFile g = SafeTensorsFile.open(GOLDEN.resolve("fid/frechet.safetensors"))) {
            FeatureStats s1 = stats(g.floats("act1"), 64, 16);
            FeatureStats s2 = stats(g.floats("act2"), 48, 16);
            assertEquals(64, s1.count());
            double covErr = Math.max(maxAbsDiff(s1.covariance(), g.doubles("sigma1")), maxAbsDiff(s2.covariance(), g.doubles("sigma2")));
            System.out.printf("sigma max abs err vs np.cov: %.3g%n", covErr);
            assertTrue(covErr < 1e-12, "sigma " + covErr);
            float[] mu1 = g.floats("mu1");
            double[] m1 = s1.mean();
            for (int j = 0; j < 16; j++) {
                // golden mu is numpy's float32 mean: ours is float64, equal up to float32 rounding
                assertEquals(mu1[j], m1[j], 1e-7 * Math.max(1, Math.abs(mu1[j])));
            }
        }
    }

    @Test
    void distanceMatchesPytorchFid() throws Exception {
        try (SafeTensorsFile g = SafeTensorsFile.open(GOLDEN.resolve("fid/frechet.safetensors"))) {
            FeatureStats s1 = stats(g.floats("act1"), 64, 16);
            FeatureStats s2 = stats(g.floats("act2"), 48, 16);
            FeatureStats s3 = stats(g.floats("act3_few"), 8, 16);
            double fid64 = g.doubles("fid_mu_float64")[0];
            double fid32 = g.doubles("fid")[0];
            FrechetDistance.Result r = FrechetDistance.compute(s1, s2);
            System.out.printf("fid %.15f vs golden fid_mu_float64 %.15f (err %.3g); golden fid (float32 mu) %.15f%n",
                    r.value(), fid64, r.value() - fid64, fid32);
            // our mu is the exact float64 mean; the golden mu is numpy's float32 mean (5e-8 apart in FID)
            assertEquals(fid64, r.value(), 1e-7);
            // the same formula with scipy 1.10.1 on float64 means gives 2.400873588525121
            assertEquals(2.400873588525121, r.value(), 1e-12);
            // with the golden (float32-valued) mu the only difference left is sqrtm vs the symmetric form
            double[] mu1 = g.doubles("mu1");
            double[] mu2 = g.doubles("mu2");
            double same = FrechetDistance.compute(mu1, s1.covariance(), mu2, s2.covariance()).value();
            System.out.printf("with golden mu: %.15f (err %.3g vs fid_mu_float64)%n", same, same - fid64);
            assertEquals(fid64, same, 1e-12);
            // pytorch-fid evaluates |mu1-mu2|^2 in float32: that moves its value by 2.3e-8
            assertEquals(fid32, same, 1e-7);

            FrechetDistance.Result singular = FrechetDistance.compute(s1, s3);
            double fid13 = g.doubles("fid_1_vs_3")[0];
            System.out.printf("singular (8 samples, 16 dims): %.15f vs golden %.15f (err %.3g), min eig/max %.3g%n",
                    singular.value(), fid13, singular.value() - fid13, singular.minEigenvalue());
            assertEquals(fid13, singular.value(), 1e-7);
            assertTrue(singular.minEigenvalue() > -1e-12 && singular.minEigenvalue() <= 0);
        }
    }

    @Test
    void offsetMatchesScipyOnTheSingularCase() throws Exception {
        try (SafeTensorsFile g = SafeTensorsFile.open(GOLDEN.resolve("fid/frechet.safetensors"))) {
            FeatureStats s1 = stats(g.floats("act1"), 64, 16);
            FeatureStats s3 = stats(g.floats("act3_few"), 8, 16);
            // pytorch-fid's formula with scipy 1.10.1 (the golden stack's version) on float64 means:
            // sqrtm((s1 + 1e-6 I) @ (s3 + 1e-6 I)), traces of s1 and s3 unchanged
            double scipy = 6.937382402571193;
            double v = FrechetDistance.compute(s1.mean(), s1.covariance(), s3.mean(), s3.covariance(), 1e-6).value();
            assertEquals(scipy, v, 1e-8);
        }
    }

    @Test
    void closedFormForCommutingCovariances() {
        // diagonal S1 = diag(a), S2 = diag(b): FID = |dmu|^2 + sum (sqrt(a) - sqrt(b))^2
        double[] a = {4, 9, 0.25, 1};
        double[] b = {1, 16, 0.25, 0};
        double[][] s1 = new double[4][4];
        double[][] s2 = new double[4][4];
        double expected = 0;
        for (int i = 0; i < 4; i++) {
            s1[i][i] = a[i];
            s2[i][i] = b[i];
            expected += Math.pow(Math.sqrt(a[i]) - Math.sqrt(b[i]), 2);
        }
        double[] mu1 = {1, 2, 3, 4};
        double[] mu2 = {1, 0, 3, 5};
        expected += 4 + 1;
        assertEquals(expected, FrechetDistance.compute(mu1, s1, mu2, s2).value(), 1e-12);
        assertEquals(0.0, FrechetDistance.compute(mu1, s1, mu1, s1).value(), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> FrechetDistance.compute(mu1, s1, new double[3], s2));
    }

    @Test
    void statsFileRoundTripAndExtension() throws Exception {
        try (SafeTensorsFile g = SafeTensorsFile.open(GOLDEN.resolve("fid/frechet.safetensors"))) {
            float[] act1 = g.floats("act1");
            Path dir = Files.createTempDirectory("fid-stats");
            Path file = dir.resolve("ref.safetensors");
            float[] first = new float[40 * 16];
            System.arraycopy(act1, 0, first, 0, first.length);
            FeatureStats part = stats(first, 40, 16);
            part.save(file);
            FeatureStats loaded = FeatureStats.load(file);
            assertEquals(40, loaded.count());
            assertEquals("golden", loaded.extractor());
            assertEquals(0.0, maxAbsDiff(loaded.covariance(), flat(part.covariance())), 1e-15);
            float[] rest = new float[24 * 16];
            System.arraycopy(act1, first.length, rest, 0, rest.length);
            loaded.add(rest, 24);
            assertEquals(64, loaded.count());
            assertTrue(maxAbsDiff(loaded.covariance(), g.doubles("sigma1")) < 1e-12);
            try (SafeTensorsFile st = SafeTensorsFile.open(file)) {
                assertEquals("40", st.metadata().get("num_samples"));
                assertEquals(40L, st.longs("num_samples")[0]);
            }
            Files.delete(file);
            Files.delete(dir);
        }
    }

    @Test
    void distanceCommandPrintsFidCountsAndWarnings() throws Exception {
        try (SafeTensorsFile g = SafeTensorsFile.open(GOLDEN.resolve("fid/frechet.safetensors"))) {
            Path dir = Files.createTempDirectory("fid-distance");
            Path a = dir.resolve("a.safetensors");
            Path b = dir.resolve("b.safetensors");
            Path c = dir.resolve("c.safetensors");
            stats(g.floats("act1"), 64, 16).save(a);
            stats(g.floats("act2"), 48, 16).save(b);
            stats(g.floats("act3_few"), 8, 16).save(c);
            java.io.StringWriter out = new java.io.StringWriter();
            picocli.CommandLine cl = new picocli.CommandLine(new io.lcmlora.cli.FidCommand());
            cl.setOut(new java.io.PrintWriter(out));
            assertEquals(0, cl.execute("distance", a.toString(), b.toString()));
            String[] lines = out.toString().split("\\R");
            System.out.println(out);
            assertEquals(2.400873588525121, Double.parseDouble(lines[0].substring("fid: ".length())), 1e-12);
            assertEquals("samples_a: 64", lines[1]);
            assertEquals("samples_b: 48", lines[2]);
            assertEquals("dims: 16", lines[3]);
            assertTrue(java.util.Arrays.stream(lines).noneMatch(l -> l.startsWith("warning")));

            io.lcmlora.eval.FidStats.Report r = io.lcmlora.cli.FidCommand.Distance.run(a, c);
            assertEquals(g.doubles("fid_1_vs_3")[0], r.fid(), 1e-7);
            assertEquals(8, r.samplesB());
            assertEquals(1, r.warnings().size());
            assertTrue(r.warnings().get(0).contains("set B has 8 samples, fewer than the 16"), r.warnings().get(0));

            FeatureStats other = new FeatureStats(16, "another extractor");
            other.add(g.floats("act2"), 48);
            assertTrue(FidStats.compare(FeatureStats.load(a), other).warnings().get(0).contains("different extractors"));
            for (Path p : new Path[] {a, b, c}) {
                Files.delete(p);
            }
            Files.delete(dir);
        }
    }

    static double[] flat(double[][] m) {
        double[] f = new double[m.length * m.length];
        for (int i = 0; i < m.length; i++) {
            System.arraycopy(m[i], 0, f, i * m.length, m.length);
        }
        return f;
    }
}
