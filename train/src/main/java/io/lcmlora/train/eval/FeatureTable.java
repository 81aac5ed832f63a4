package io.lcmlora.train.eval;

import io.lcmlora.eval.FeatureExtractor;
import io.lcmlora.eval.FeatureStats;
import io.lcmlora.eval.FidStats;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.io.SafeTensorsWriter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Per-image feature rows of an image set with the prompt (position in the prompt file) each image belongs to: what
 * the FID and its bootstrap over prompts are computed from. Cached as a safetensors file ({@code features} F64
 * [N, D], {@code prompt} I64 [N], the cache key and extractor in the metadata).
 */
public record FeatureTable(double[][] rows, int[] prompts, String extractor) {
    static final String ROWS = "features";
    static final String PROMPTS = "prompt";

    public FeatureTable {
        if (rows.length != prompts.length || rows.length == 0) {
            throw new IllegalArgumentException(rows.length + " feature rows for " + prompts.length + " prompt labels");
        }
    }

    public int dim() {
        return rows[0].length;
    }

    /** FID statistics of all rows. */
    public FeatureStats stats() {
        FeatureStats s = new FeatureStats(dim(), extractor);
        s.add(rows);
        return s;
    }

    /** Features of {@code files} (labelled {@code prompts}), {@code batchSize} images per forward pass. */
    static FeatureTable compute(List<Path> files, int[] prompts, FeatureExtractor extractor, int batchSize)
            throws IOException {
        List<double[]> rows = new ArrayList<>(files.size());
        FidStats.forEachBatch(files, extractor, batchSize, batch -> rows.addAll(List.of(batch)));
        return new FeatureTable(rows.toArray(double[][]::new), prompts.clone(), extractor.describe());
    }

    void save(Path file, Map<String, String> metadata) throws IOException {
        int n = rows.length;
        int d = dim();
        double[] flat = new double[n * d];
        long[] p = new long[n];
        for (int i = 0; i < n; i++) {
            System.arraycopy(rows[i], 0, flat, i * d, d);
            p[i] = prompts[i];
        }
        new SafeTensorsWriter().addDoubles(ROWS, new long[] {n, d}, flat).addLongs(PROMPTS, new long[] {n}, p)
                .metadata("extractor", extractor).metadata(metadata).write(file);
    }

    /** Reads a table written by {@link #save}; shapes are checked against each other. */
    static FeatureTable load(SafeTensorsFile f) throws IOException {
        long[] s = f.info(ROWS).shape();
        long[] ps = f.info(PROMPTS).shape();
        if (s.length != 2 || ps.length != 1 || ps[0] != s[0] || s[0] < 1 || s[1] < 1) {
            throw new IOException(f.path() + ": '" + ROWS + "' must be [N, D] and '" + PROMPTS + "' [N]");
        }
        int n = Math.toIntExact(s[0]);
        int d = Math.toIntExact(s[1]);
        double[] flat = f.doubles(ROWS);
        long[] p = f.longs(PROMPTS);
        double[][] rows = new double[n][d];
        int[] prompts = new int[n];
        for (int i = 0; i < n; i++) {
            System.arraycopy(flat, i * d, rows[i], 0, d);
            prompts[i] = Math.toIntExact(p[i]);
        }
        String ex = f.metadata().getOrDefault("extractor", "");
        return new FeatureTable(rows, prompts, ex);
    }
}
