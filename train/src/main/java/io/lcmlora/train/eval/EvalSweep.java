package io.lcmlora.train.eval;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.lcmlora.eval.FeatureExtractor;
import io.lcmlora.eval.FeatureStats;
import io.lcmlora.eval.FidStats;
import io.lcmlora.eval.FrechetDistance;
import io.lcmlora.eval.ImageFolder;
import io.lcmlora.io.AtomicFiles;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.train.config.EvalConfig;
import io.lcmlora.train.parallel.Shard;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Runs an evaluation sweep, resumably:
 * <ol>
 *   <li>Plan every setting's images ({@link SweepLayout}); the ones already on disk are done (images are written
 *       atomically, so a file under its final name is complete) and are never regenerated.</li>
 *   <li>Generate the missing ones model by model (each base model is loaded once), in batches of consecutive seeds
 *       of one prompt, each written as PNG as soon as it exists; progress with ETA counts the whole sweep.</li>
 *   <li>Reference statistics from the prompt file's reference images, cached in the reference stats file under a key
 *       of the extractor and the images (path, size, mtime); or precomputed statistics when no references are named.</li>
 *   <li>Each setting's statistics from its PNGs on disk (so a resumed sweep measures exactly what a fresh one
 *       would), cached beside them under the same kind of key; FID against the reference (its square root taken
 *       once), with both sample counts and the warnings.</li>
 *   <li>Write the sample grids, {@code results.json}, {@code results.md} and the FID-vs-steps plot.</li>
 * </ol>
 */
public final class EvalSweep {
    static final String CACHE_KEY = "cache_key";
    static final int GRID_ROWS = 4;
    static final int GRID_CELL = 192;

    private final EvalConfig config;
    private final SampleGenerator.Factory generators;
    private final FeatureExtractors extractors;
    private final SweepProgress progress;
    private final SweepLayout layout;
    private final List<SweepSetting> settings;
    private final List<EvalPrompt> prompts;

    private EvalSweep(EvalConfig config, SampleGenerator.Factory generators, FeatureExtractors extractors,
            SweepProgress progress) throws IOException {
        this.config = config.requireRunnable();
        this.generators = generators;
        this.extractors = extractors;
        this.progress = progress;
        this.layout = new SweepLayout(Path.of(config.outputDir()));
        this.settings = SweepSetting.expand(config);
        this.prompts = EvalPrompts.read(Path.of(config.prompts()));
        long perSetting = (long) prompts.size() * config.seeds().size() * config.imagesPerPrompt();
        if (perSetting < 2) {
            throw new IllegalArgumentException("a setting has " + perSetting + " image(s): FID needs at least 2 samples "
                    + "(more prompts, seeds or images_per_prompt)");
        }
    }

    /** Runs (or resumes) the sweep of {@code config} and writes its results; returns them. */
    public static SweepResults run(EvalConfig config, SampleGenerator.Factory generators, FeatureExtractors extractors,
            SweepProgress progress) throws IOException {
        return new EvalSweep(config, generators, extractors, progress).run();
    }

    /**
     * Generates only the images of {@code shard} (of every setting: unit u is the u-th run of
     * {@code images_per_prompt} seeds of one prompt, counting setting by setting), skipping those on disk, and
     * computes no statistics; a later {@link #run} without a shard finds every shard's PNGs and measures them.
     * Returns how many images this shard owns.
     */
    public static long generateShard(EvalConfig config, SampleGenerator.Factory generators, SweepProgress progress,
            Shard shard) throws IOException {
        return new EvalSweep(config, generators, null, progress).generate(shard);
    }

    private SweepResults run() throws IOException {
        generate(Shard.all());
        try (LazyExtractor extractor = new LazyExtractor()) {
            ReferenceStats ref = referenceStats(extractor);
            FrechetDistance.Reference sqrt = new FrechetDistance.Reference(ref.stats());
            List<SweepResults.Setting> rows = new ArrayList<>();
            for (SweepSetting s : settings) {
                FeatureStats stats = settingStats(s, extractor);
                FidStats.Report report = FidStats.compare(sqrt, ref.stats(), stats);
                writeGrid(s);
                rows.add(row(s, report));
                progress.message(String.format(Locale.ROOT, "%s: FID %.3f (%d samples vs %d reference)", s.name(),
                        report.fid(), report.samplesB(), report.samplesA()));
            }
            FeatureStats r = ref.stats();
            SweepResults results = new SweepResults(SweepResults.FORMAT, 1, config.prompts(), prompts.size(),
                    config.seeds(), config.imagesPerPrompt(), config.width(), config.height(), r.extractor(),
                    config.features().preprocessing(), r.dim(), new SweepResults.Reference(
                            config.referenceStatsPath().toString(), r.count(), ref.source()), rows);
            AtomicFiles.writeString(layout.root().resolve(SweepLayout.RESULTS_JSON), results.toJson());
            AtomicFiles.writeString(layout.root().resolve(SweepLayout.RESULTS_MD), results.toMarkdown());
            writePlot(results);
            return results;
        }
    }

    // ---- 1-2. generation ----

    private long generate(Shard shard) throws IOException {
        long total = 0;
        long done = 0;
        Map<String, List<SweepSetting>> byModel = new LinkedHashMap<>();
        for (SweepSetting s : settings) {
            SweepLayout.removeStaleTemps(layout.settingDir(s));
            for (SweepLayout.Image img : images(s, shard)) {
                total++;
                if (SweepLayout.done(img.file())) {
                    done++;
                } else {
                    byModel.computeIfAbsent(s.model().name(), k -> new ArrayList<>());
                    if (!byModel.get(s.model().name()).contains(s)) {
                        byModel.get(s.model().name()).add(s);
                    }
                }
            }
        }
        progress.start(total, done);
        for (List<SweepSetting> group : byModel.values()) {
            EvalConfig.ModelSpec model = group.get(0).model();
            progress.message("loading model '" + model.name() + "' (" + model.path() + ")");
            try (SampleGenerator gen = generators.open(model, config)) {
                for (SweepSetting s : group) {
                    done = generate(gen, s, done, shard);
                }
            }
        }
        return total;
    }

    private List<SweepLayout.Image> images(SweepSetting s) {
        return layout.images(s, prompts, config.seeds(), config.imagesPerPrompt());
    }

    /** The images of {@code s} that {@code shard} owns, in order. */
    private List<SweepLayout.Image> images(SweepSetting s, Shard shard) {
        List<SweepLayout.Image> all = images(s);
        if (shard.isAll()) {
            return all;
        }
        long first = (long) settings.indexOf(s) * (all.size() / config.imagesPerPrompt());
        List<SweepLayout.Image> out = new ArrayList<>();
        for (int k = 0; k < all.size(); k++) {
            if (shard.owns(first + k / config.imagesPerPrompt())) {
                out.add(all.get(k));
            }
        }
        return out;
    }

    /** Generates the missing images of one setting in runs of consecutive seeds (at most batch_size) per prompt. */
    private long generate(SampleGenerator gen, SweepSetting s, long done, Shard shard) throws IOException {
        List<SweepLayout.Image> missing = new ArrayList<>();
        for (SweepLayout.Image img : images(s, shard)) {
            if (!SweepLayout.done(img.file())) {
                missing.add(img);
            }
        }
        int i = 0;
        while (i < missing.size()) {
            SweepLayout.Image first = missing.get(i);
            int n = 1;
            while (i + n < missing.size() && n < config.batchSize() && missing.get(i + n).prompt() == first.prompt()
                    && missing.get(i + n).seed() == first.seed() + n) {
                n++;
            }
            EvalPrompt p = first.prompt();
            String negative = p.negativePrompt() != null ? p.negativePrompt() : config.negativePrompt();
            long t0 = System.nanoTime();
            List<SampleGenerator.Sample> samples = gen.generate(s, p, negative, first.seed(), n);
            if (samples.size() != n) {
                throw new IllegalStateException("generator returned " + samples.size() + " images for " + n + " seeds");
            }
            for (int k = 0; k < n; k++) {
                SweepImages.writePng(missing.get(i + k).file(), samples.get(k));
            }
            addTiming(s, n, (System.nanoTime() - t0) / 1e9);
            done += n;
            i += n;
            progress.images(done, s.name());
        }
        return done;
    }

    /** Adds a batch's time to the setting's {@code generation.json} (images and seconds over all runs). */
    private void addTiming(SweepSetting s, int images, double seconds) throws IOException {
        double[] t = timing(s);
        JsonObject o = new JsonObject();
        o.addProperty("images", (long) t[0] + images);
        o.addProperty("seconds", t[1] + seconds);
        AtomicFiles.writeString(layout.timing(s), o + "\n");
    }

    /** {images, seconds} generated so far ({0, 0} when never timed). */
    private double[] timing(SweepSetting s) throws IOException {
        Path f = layout.timing(s);
        if (!Files.isRegularFile(f)) {
            return new double[2];
        }
        JsonObject o = JsonParser.parseString(Files.readString(f, StandardCharsets.UTF_8)).getAsJsonObject();
        return new double[] {o.get("images").getAsLong(), o.get("seconds").getAsDouble()};
    }

    // ---- 3-4. statistics ----

    /** The extractor, opened on first use (a fully cached resume never loads it). */
    private final class LazyExtractor implements AutoCloseable {
        private FeatureExtractor extractor;

        FeatureExtractor get() throws IOException {
            if (extractor == null) {
                extractor = extractors.open(config.features());
            }
            return extractor;
        }

        /** What the stats of this config's extractor are labelled with, without opening it when a cache can tell. */
        String identity() throws IOException {
            EvalConfig.FeaturesConfig f = config.features();
            String id = "type=" + f.type() + ";weights=" + f.weights() + ";dims=" + f.dims() + ";preprocessing="
                    + f.preprocessing();
            if (f.weights() != null && Files.isRegularFile(Path.of(f.weights()))) {
                id += ";weights_size=" + Files.size(Path.of(f.weights())) + ";weights_mtime="
                        + Files.getLastModifiedTime(Path.of(f.weights())).toMillis();
            }
            return id;
        }

        @Override
        public void close() {
            if (extractor != null) {
                extractor.close();
            }
        }
    }

    private record ReferenceStats(FeatureStats stats, String source) {}

    private ReferenceStats referenceStats(LazyExtractor extractor) throws IOException {
        Path file = config.referenceStatsPath();
        List<Path> refs = new ArrayList<>();
        for (EvalPrompt p : prompts) {
            refs.addAll(p.references());
        }
        if (refs.isEmpty()) {
            if (!Files.isRegularFile(file)) {
                throw new NoSuchFileException(file + " (the prompt file names no reference images, so reference_stats "
                        + "must be an existing stats file, e.g. from 'lcm fid stats')");
            }
            return new ReferenceStats(FeatureStats.load(file), "precomputed stats file");
        }
        String source = refs.size() + " reference images of " + config.prompts();
        return new ReferenceStats(cachedStats(file, refs, extractor, "reference"), source);
    }

    private FeatureStats settingStats(SweepSetting s, LazyExtractor extractor) throws IOException {
        List<Path> files = images(s).stream().map(SweepLayout.Image::file).toList();
        return cachedStats(layout.stats(s), files, extractor, s.name());
    }

    /** Stats of {@code files} from {@code cache} when its key matches, else computed and cached. */
    private FeatureStats cachedStats(Path cache, List<Path> files, LazyExtractor extractor, String what)
            throws IOException {
        String key = cacheKey(extractor.identity(), files);
        if (Files.isRegularFile(cache)) {
            String stored;
            try (SafeTensorsFile st = SafeTensorsFile.open(cache)) {
                stored = st.metadata().get(CACHE_KEY);
            }
            if (stored == null) {
                throw new IOException(cache + ": exists but was not written by a sweep (no '" + CACHE_KEY + "' entry), "
                        + "so it is not overwritten; to compare against these precomputed statistics, list no "
                        + "references in the prompt file, otherwise point reference_stats to another file");
            }
            if (key.equals(stored)) {
                return FeatureStats.load(cache);
            }
        }
        progress.message("features of " + what + ": " + files.size() + " images");
        FeatureStats stats = FidStats.ofFiles(files, extractor.get(), config.features().batchSize(), null);
        stats.save(cache, Map.of(CACHE_KEY, key));
        return stats;
    }

    /** SHA-256 over the extractor identity and each file's absolute path, size and modification time. */
    static String cacheKey(String extractorIdentity, List<Path> files) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        md.update(extractorIdentity.getBytes(StandardCharsets.UTF_8));
        for (Path f : files) {
            if (!Files.isRegularFile(f)) {
                throw new NoSuchFileException(f + " (image for FID statistics not found)");
            }
            String line = "\n" + f.toAbsolutePath().normalize() + "\t" + Files.size(f) + "\t"
                    + Files.getLastModifiedTime(f).toMillis();
            md.update(line.getBytes(StandardCharsets.UTF_8));
        }
        return HexFormat.of().formatHex(md.digest());
    }

    // ---- 5. outputs ----

    private SweepResults.Setting row(SweepSetting s, FidStats.Report report) throws IOException {
        double[] t = timing(s);
        List<SweepResults.Adapter> adapters = s.adapters().stream()
                .map(a -> new SweepResults.Adapter(a.name(), a.file(), a.weight())).toList();
        return new SweepResults.Setting(s.name(), s.family(), s.model().name(), s.model().path(), s.schedulerName(),
                s.steps(), s.guidance(), adapters, s.timesteps(), report.fid(), report.samplesB(), report.samplesA(),
                s.name(), layout.grid(s).getFileName().toString(), (long) t[0], t[1], t[0] > 0 ? t[1] / t[0] : null,
                report.warnings());
    }

    /** The first grid_prompts prompts (columns) by the first seeds (rows, at most {@value #GRID_ROWS}). */
    private void writeGrid(SweepSetting s) throws IOException {
        List<EvalPrompt> cols = prompts.subList(0, Math.min(config.gridPrompts(), prompts.size()));
        List<Long> seeds = new ArrayList<>();
        for (long base : config.seeds()) {
            for (int k = 0; k < config.imagesPerPrompt() && seeds.size() < GRID_ROWS; k++) {
                seeds.add(base + k);
            }
        }
        List<List<BufferedImage>> rows = new ArrayList<>();
        for (long seed : seeds) {
            List<BufferedImage> row = new ArrayList<>();
            for (EvalPrompt p : cols) {
                row.add(ImageFolder.read(layout.image(s, p, seed)));
            }
            rows.add(row);
        }
        String title = s.name() + ": " + s.model().name() + ", " + s.describe() + ", " + s.steps() + " steps, guidance "
                + EvalConfig.number(s.guidance()) + " (rows: seeds " + seeds + ")";
        List<String> labels = cols.stream().map(p -> "#" + p.index() + " " + p.prompt()).toList();
        BufferedImage grid = SampleGrid.draw(title, labels, rows, GRID_CELL);
        SweepImages.writePng(layout.grid(s), new SampleGenerator.Sample(grid, null));
    }

    private void writePlot(SweepResults results) throws IOException {
        Map<String, List<double[]>> byFamily = new LinkedHashMap<>();
        Map<String, String> labels = new LinkedHashMap<>();
        for (SweepResults.Setting r : results.settings()) {
            byFamily.computeIfAbsent(r.family(), k -> new ArrayList<>()).add(new double[] {r.steps(), r.fid()});
            labels.putIfAbsent(r.family(), r.family() + " (" + r.model() + ", " + r.scheduler()
                    + (r.adapters().isEmpty() ? "" : " + " + String.join("+",
                            r.adapters().stream().map(SweepResults.Adapter::name).toList()))
                    + ", g=" + EvalConfig.number(r.guidance()) + ")");
        }
        List<FidPlot.Series> series = new ArrayList<>();
        for (Map.Entry<String, List<double[]>> e : byFamily.entrySet()) {
            series.add(new FidPlot.Series(labels.get(e.getKey()), e.getValue()));
        }
        String title = "FID vs sampling steps (" + results.settings().get(0).samples() + " samples per setting, "
                + results.reference().samples() + " reference)";
        BufferedImage plot = FidPlot.draw(title, series, 900, 560);
        SweepImages.writePng(layout.root().resolve(SweepLayout.PLOT), new SampleGenerator.Sample(plot, null));
    }
}
