package io.lcmlora.train.eval;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import ai.djl.ndarray.NDManager;
import io.lcmlora.eval.ClipScore;
import io.lcmlora.eval.DomainClassifier;
import io.lcmlora.eval.DomainClassifierConfig;
import io.lcmlora.eval.FeatureExtractor;
import io.lcmlora.eval.FeatureStats;
import io.lcmlora.eval.FidStats;
import io.lcmlora.eval.FrechetDistance;
import io.lcmlora.eval.ImageFolder;
import io.lcmlora.io.AtomicFiles;
import io.lcmlora.io.ModelWeights;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.io.SafeTensorsWriter;
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
 *   <li>With a {@code clip_score} block, each image's CLIP score against its own prompt, cached beside the images.</li>
 *   <li>With a colour column ({@code colour_bins}), each image's colour distance to its prompt's own reference
 *       images and its colour diversity against the other prompts' images ({@link ColourFidelity}).</li>
 *   <li>The bootstrap over prompts ({@link PromptBootstrap}): every FID and CLIP score recomputed on the same
 *       resamples of prompts (with their generated and reference images), giving each value's interval and the
 *       replicates that bound ratios.</li>
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
        try (LazyExtractor extractor = new LazyExtractor(); LazyClipScore clip = new LazyClipScore()) {
            ReferenceStats ref = referenceStats(extractor);
            FrechetDistance.Reference sqrt = new FrechetDistance.Reference(ref.stats());
            List<FeatureTable> tables = new ArrayList<>();
            List<double[]> clipScores = new ArrayList<>();
            List<double[]> alignments = new ArrayList<>();
            List<double[]> colours = new ArrayList<>();
            List<double[]> diversities = new ArrayList<>();
            int[] labels = labels(extractor);
            ColourFidelity colour = colourFidelity();
            List<long[]> colourRefs = colour == null ? null : referenceColours(colour);
            String[] promptLabels = prompts.stream().anyMatch(p -> p.label() == null) ? null
                    : prompts.stream().map(EvalPrompt::label).toArray(String[]::new);
            int[] own = java.util.stream.IntStream.range(0, prompts.size()).toArray();
            double[] refDiversity = colour == null ? null : ColourFidelity.diversity(colourRefs, own, promptLabels);
            List<FidStats.Report> reports = new ArrayList<>();
            for (SweepSetting s : settings) {
                FeatureTable table = settingFeatures(s, extractor);
                FidStats.Report report = FidStats.compare(sqrt, ref.stats(), table.stats());
                tables.add(table);
                reports.add(report);
                clipScores.add(config.clipScore() == null ? null : clipScores(s, clip));
                alignments.add(labels == null ? null : alignment(s, extractor, labels));
                List<long[]> hists = colour == null ? null : colourHistograms(s, colour);
                colours.add(colour == null ? null : colourDistances(s, hists, colourRefs));
                diversities.add(colour == null ? null
                        : ColourFidelity.diversity(hists, promptPositions(images(s)), promptLabels));
                writeGrid(s);
                progress.message(String.format(Locale.ROOT, "%s: FID %.3f (%d samples vs %d reference)", s.name(),
                        report.fid(), report.samplesB(), report.samplesA()));
            }
            Intervals iv = bootstrap(ref, tables, clipScores, alignments, colours, diversities);
            List<SweepResults.Setting> rows = new ArrayList<>();
            for (int i = 0; i < settings.size(); i++) {
                SweepResults.Setting row = row(settings.get(i), reports.get(i), clipScores.get(i), alignments.get(i),
                        colours.get(i), diversities.get(i), iv, i);
                rows.add(row);
                if (iv != null) {
                    progress.message(String.format(Locale.ROOT, "%s: FID %s %s%s", row.name(), SweepResults.fid(row.fid()),
                            SweepResults.interval(row.fidInterval()), row.clipScore() == null ? ""
                                    : String.format(Locale.ROOT, ", CLIP score %.2f %s", row.clipScore(),
                                            SweepResults.interval(row.clipScoreInterval()))));
                }
            }
            FeatureStats r = ref.stats();
            EvalConfig.BootstrapConfig bc = config.bootstrap();
            SweepResults results = new SweepResults(SweepResults.FORMAT, SweepResults.VERSION, config.prompts(),
                    prompts.size(), config.seeds(), config.imagesPerPrompt(), config.width(), config.height(),
                    r.extractor(), config.features().preprocessing(), r.dim(), new SweepResults.Reference(
                            config.referenceStatsPath().toString(), r.count(), ref.source()),
                    new SweepResults.Bootstrap("prompt", prompts.size(), iv == null ? 0 : bc.resamples(), bc.seed(),
                            bc.level()),
                    config.clipScore() == null ? null : "CLIP score (100 * max(cos, 0), mean over images): vision "
                            + config.clipScore().vision() + ", text " + config.clipScore().text(),
                    labels == null ? null : "prompt alignment: the classifier's probability of the prompt's own label "
                            + "(mean over images)",
                    rows, colour == null ? null : colour.describe(), colour == null ? null : mean(refDiversity),
                    colour == null ? List.of() : byLabel(prompts, own, refDiversity, bc));
            AtomicFiles.writeString(layout.root().resolve(SweepLayout.RESULTS_JSON), results.toJson());
            AtomicFiles.writeString(layout.root().resolve(SweepLayout.RESULTS_MD), results.toMarkdown());
            writePlot(results);
            return results;
        }
    }

    /** Bootstrap replicates per setting: FID and CLIP score on the same resamples of prompts. */
    private record Intervals(double[][] fid, double[][] clip, double[][] align, double[][] colour,
            double[][] diversity, double level) {}

    /**
     * The bootstrap over prompts ({@link PromptBootstrap}): per resample the reference moments of the drawn prompts'
     * reference images (or the fixed precomputed statistics), then every setting's FID and CLIP score on the same
     * draw. Null when {@code bootstrap.resamples} is 0 or there are fewer than 2 prompts.
     */
    private Intervals bootstrap(ReferenceStats ref, List<FeatureTable> tables, List<double[]> clipScores,
            List<double[]> alignments, List<double[]> colours, List<double[]> diversities) {
        EvalConfig.BootstrapConfig bc = config.bootstrap();
        if (bc.resamples() == 0 || prompts.size() < 2) {
            return null;
        }
        progress.message(String.format(Locale.ROOT, "bootstrap: %d resamples of %d prompts", bc.resamples(),
                prompts.size()));
        int[][] counts = PromptBootstrap.resamples(prompts.size(), bc.resamples(), bc.seed());
        double[][] fid = new double[tables.size()][bc.resamples()];
        double[][] clip = new double[tables.size()][bc.resamples()];
        double[][] align = new double[tables.size()][bc.resamples()];
        double[][] colour = new double[tables.size()][bc.resamples()];
        double[][] diversity = new double[tables.size()][bc.resamples()];
        FrechetDistance.Reference fixed = ref.table() == null ? new FrechetDistance.Reference(ref.stats()) : null;
        for (int b = 0; b < counts.length; b++) {
            FrechetDistance.Reference r = fixed;
            if (r == null) {
                PromptBootstrap.Moments m = PromptBootstrap.moments(ref.table().rows(),
                        PromptBootstrap.imageWeights(ref.table().prompts(), counts[b]));
                r = new FrechetDistance.Reference(m.mean(), m.covariance());
            }
            for (int i = 0; i < tables.size(); i++) {
                FeatureTable t = tables.get(i);
                double[] w = PromptBootstrap.imageWeights(t.prompts(), counts[b]);
                PromptBootstrap.Moments m = PromptBootstrap.moments(t.rows(), w);
                fid[i][b] = r.distance(m.mean(), m.covariance()).value();
                clip[i][b] = clipScores.get(i) == null ? Double.NaN : PromptBootstrap.weightedMean(clipScores.get(i), w);
                align[i][b] = alignments.get(i) == null ? Double.NaN : PromptBootstrap.weightedMean(alignments.get(i), w);
                colour[i][b] = colours.get(i) == null ? Double.NaN : PromptBootstrap.weightedMean(colours.get(i), w);
                diversity[i][b] = diversities.get(i) == null ? Double.NaN
                        : PromptBootstrap.weightedMean(diversities.get(i), w);
            }
        }
        return new Intervals(fid, clip, align, colour, diversity, bc.level());
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

    /**
     * Generates the missing images of one setting: runs of consecutive seeds per prompt, packed (across prompts) into
     * calls of at most batch_size images, so that one denoising loop serves several prompts. The calls are cut from
     * the setting's whole image list (not from what is missing), so every image is always computed in the same batch
     * and a resumed sweep gives the same pixels as an uninterrupted one (batched kernels are not bit-identical across
     * batch compositions); a call with any image missing is run whole and writes only the missing PNGs.
     */
    private long generate(SampleGenerator gen, SweepSetting s, long done, Shard shard) throws IOException {
        List<SweepLayout.Image> all = images(s, shard);
        int i = 0;
        while (i < all.size()) {
            // 1. runs of consecutive seeds of one prompt, until the call holds batch_size images
            List<SampleGenerator.Request> requests = new ArrayList<>();
            int n = 0;
            while (i + n < all.size() && n < config.batchSize()) {
                SweepLayout.Image first = all.get(i + n);
                int run = 1;
                while (i + n + run < all.size() && n + run < config.batchSize()
                        && all.get(i + n + run).prompt() == first.prompt()
                        && all.get(i + n + run).seed() == first.seed() + run) {
                    run++;
                }
                EvalPrompt p = first.prompt();
                String negative = p.negativePrompt() != null ? p.negativePrompt() : config.negativePrompt();
                requests.add(new SampleGenerator.Request(p, negative, first.seed(), run));
                n += run;
            }
            List<Integer> missing = new ArrayList<>();
            for (int k = 0; k < n; k++) {
                if (!SweepLayout.done(all.get(i + k).file())) {
                    missing.add(k);
                }
            }
            if (missing.isEmpty()) {
                i += n;
                continue;
            }
            // 2. one call, then the missing PNGs in request order
            long t0 = System.nanoTime();
            List<SampleGenerator.Sample> samples = gen.generate(s, requests);
            if (samples.size() != n) {
                throw new IllegalStateException("generator returned " + samples.size() + " images for " + n + " seeds");
            }
            for (int k : missing) {
                SweepImages.writePng(all.get(i + k).file(), samples.get(k));
            }
            addTiming(s, n, (System.nanoTime() - t0) / 1e9);
            done += missing.size();
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

    /** The reference statistics, and their per-image features when they come from the prompt file's images. */
    private record ReferenceStats(FeatureStats stats, String source, FeatureTable table) {}

    private ReferenceStats referenceStats(LazyExtractor extractor) throws IOException {
        Path file = config.referenceStatsPath();
        List<Path> refs = new ArrayList<>();
        List<Integer> groups = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            for (Path r : prompts.get(i).references()) {
                refs.add(r);
                groups.add(i);
            }
        }
        if (refs.isEmpty()) {
            if (!Files.isRegularFile(file)) {
                throw new NoSuchFileException(file + " (the prompt file names no reference images, so reference_stats "
                        + "must be an existing stats file, e.g. from 'lcm fid stats')");
            }
            return new ReferenceStats(FeatureStats.load(file), "precomputed stats file", null);
        }
        String key = cacheKey(extractor.identity(), refs);
        String stored = null;
        if (Files.isRegularFile(file)) {
            try (SafeTensorsFile st = SafeTensorsFile.open(file)) {
                stored = st.metadata().get(CACHE_KEY);
            }
            if (stored == null) {
                throw new IOException(file + ": exists but was not written by a sweep (no '" + CACHE_KEY + "' entry), "
                        + "so it is not overwritten; to compare against these precomputed statistics, list no "
                        + "references in the prompt file, otherwise point reference_stats to another file");
            }
        }
        FeatureTable table = cachedFeatures(featuresFile(file), refs, groups.stream().mapToInt(Integer::intValue).toArray(),
                extractor, "reference");
        FeatureStats stats = table.stats();
        if (!key.equals(stored)) {
            stats.save(file, Map.of(CACHE_KEY, key));
        }
        String source = refs.size() + " reference images of " + config.prompts();
        return new ReferenceStats(stats, source, table);
    }

    /** The per-image features cached beside a stats file: {@code X.safetensors} -> {@code X.features.safetensors}. */
    static Path featuresFile(Path statsFile) {
        String name = statsFile.getFileName().toString();
        String stem = name.endsWith(".safetensors") ? name.substring(0, name.length() - ".safetensors".length()) : name;
        return statsFile.resolveSibling(stem + ".features.safetensors");
    }

    private FeatureTable settingFeatures(SweepSetting s, LazyExtractor extractor) throws IOException {
        List<SweepLayout.Image> images = images(s);
        List<Path> files = images.stream().map(SweepLayout.Image::file).toList();
        return cachedFeatures(layout.features(s), files, promptPositions(images), extractor, s.name());
    }

    /** Each image's prompt as its position in the prompt list (the bootstrap's resampling unit). */
    private int[] promptPositions(List<SweepLayout.Image> images) {
        Map<EvalPrompt, Integer> pos = new java.util.IdentityHashMap<>();
        for (int i = 0; i < prompts.size(); i++) {
            pos.put(prompts.get(i), i);
        }
        return images.stream().mapToInt(img -> pos.get(img.prompt())).toArray();
    }

    /** Features of {@code files} from {@code cache} when its key matches, else computed and cached. */
    private FeatureTable cachedFeatures(Path cache, List<Path> files, int[] groups, LazyExtractor extractor, String what)
            throws IOException {
        String key = cacheKey(extractor.identity(), files);
        if (Files.isRegularFile(cache)) {
            try (SafeTensorsFile st = SafeTensorsFile.open(cache)) {
                if (key.equals(st.metadata().get(CACHE_KEY))) {
                    return FeatureTable.load(st);
                }
            }
        }
        progress.message("features of " + what + ": " + files.size() + " images");
        FeatureTable t = FeatureTable.compute(files, groups, extractor.get(), config.features().batchSize());
        t.save(cache, Map.of(CACHE_KEY, key));
        return t;
    }

    // ---- CLIP score ----

    /** The CLIP towers, loaded on first use, with the prompts' text embeddings. */
    private final class LazyClipScore implements AutoCloseable {
        private ClipScore clip;
        private double[][] text;

        String identity() throws IOException {
            EvalConfig.ClipScoreConfig c = config.clipScore();
            StringBuilder id = new StringBuilder("clip_score;vision=" + c.vision() + ";text=" + c.text() + ";tokenizer="
                    + c.tokenizer());
            for (String dir : new String[] {c.vision(), c.text()}) {
                for (Path w : ModelWeights.files(Path.of(dir), null)) {
                    id.append(';').append(w).append('=').append(Files.size(w)).append('@')
                            .append(Files.getLastModifiedTime(w).toMillis());
                }
            }
            return id.toString();
        }

        ClipScore get() throws IOException {
            if (clip == null) {
                EvalConfig.ClipScoreConfig c = config.clipScore();
                Path text = Path.of(c.text());
                clip = ClipScore.load(Path.of(c.vision()), text,
                        ClipScore.tokenizer(text, c.tokenizer() == null ? null : Path.of(c.tokenizer())));
                progress.message("loaded " + clip.describe());
            }
            return clip;
        }

        double[][] textEmbeds() throws IOException {
            if (text == null) {
                text = get().textEmbeds(prompts.stream().map(EvalPrompt::prompt).toList());
            }
            return text;
        }

        @Override
        public void close() {
            if (clip != null) {
                clip.close();
            }
        }
    }

    /** Per-image CLIP scores of a setting (image against its own prompt), cached beside its images. */
    private double[] clipScores(SweepSetting s, LazyClipScore clip) throws IOException {
        List<SweepLayout.Image> images = images(s);
        List<Path> files = images.stream().map(SweepLayout.Image::file).toList();
        String key = cacheKey(clip.identity(), files);
        Path cache = layout.clipScores(s);
        if (Files.isRegularFile(cache)) {
            try (SafeTensorsFile st = SafeTensorsFile.open(cache)) {
                if (key.equals(st.metadata().get(CACHE_KEY)) && st.info("clip_score").numel() == files.size()) {
                    return st.doubles("clip_score");
                }
            }
        }
        progress.message("CLIP score of " + s.name() + ": " + files.size() + " images");
        ClipScore cs = clip.get();
        double[][] text = clip.textEmbeds();
        int[] pos = promptPositions(images);
        double[] out = new double[files.size()];
        int batch = config.clipScore().batchSize();
        for (int start = 0; start < files.size(); start += batch) {
            int end = Math.min(files.size(), start + batch);
            List<BufferedImage> imgs = new ArrayList<>();
            for (Path f : files.subList(start, end)) {
                imgs.add(ImageFolder.read(f));
            }
            double[][] emb;
            try (NDManager m = NDManager.newBaseManager()) {
                emb = cs.imageEmbeds(ImageFolder.load(imgs, files.subList(start, end), m));
            }
            for (int i = start; i < end; i++) {
                out[i] = ClipScore.score(emb[i - start], text[pos[i]]);
            }
        }
        new SafeTensorsWriter().addDoubles("clip_score", new long[] {out.length}, out)
                .metadata(CACHE_KEY, key).metadata("clip", cs.describe()).write(cache);
        return out;
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

    private SweepResults.Setting row(SweepSetting s, FidStats.Report report, double[] clipScores, double[] alignment,
            double[] colours, double[] diversity, Intervals iv, int i) throws IOException {
        double[] t = timing(s);
        List<SweepResults.Adapter> adapters = s.adapters().stream()
                .map(a -> new SweepResults.Adapter(a.name(), a.file(), a.weight())).toList();
        Double clip = mean(clipScores);
        Double align = mean(alignment);
        SweepResults.Interval fidInterval = iv == null ? null
                : SweepResults.Interval.of(PromptBootstrap.centred(report.fid(), iv.fid()[i], iv.level()));
        SweepResults.Interval clipInterval = iv == null || clipScores == null ? null
                : SweepResults.Interval.of(PromptBootstrap.centred(clip, iv.clip()[i], iv.level()));
        SweepResults.Interval alignInterval = iv == null || alignment == null ? null
                : SweepResults.Interval.of(PromptBootstrap.centred(align, iv.align()[i], iv.level()));
        Double colour = mean(colours);
        SweepResults.Interval colourInterval = iv == null || colours == null ? null
                : SweepResults.Interval.of(PromptBootstrap.centred(colour, iv.colour()[i], iv.level()));
        Double div = mean(diversity);
        SweepResults.Interval divInterval = iv == null || diversity == null ? null
                : SweepResults.Interval.of(PromptBootstrap.centred(div, iv.diversity()[i], iv.level()));
        return new SweepResults.Setting(s.name(), s.family(), s.model().name(), s.model().path(), s.schedulerName(),
                s.steps(), s.guidance(), adapters, s.timesteps(), report.fid(), fidInterval, report.samplesB(),
                report.samplesA(), prompts.size(), clip, clipInterval, align, alignInterval, s.name(),
                layout.grid(s).getFileName().toString(), (long) t[0], t[1], t[0] > 0 ? t[1] / t[0] : null,
                report.warnings(), iv == null ? null : iv.fid()[i], iv == null || clipScores == null ? null : iv.clip()[i],
                iv == null || alignment == null ? null : iv.align()[i], colour, colourInterval,
                iv == null || colours == null ? null : iv.colour()[i], colourByLabel(s, colours), div, divInterval,
                iv == null || diversity == null ? null : iv.diversity()[i], colourByLabel(s, diversity));
    }

    private static Double mean(double[] v) {
        if (v == null) {
            return null;
        }
        double sum = 0;
        for (double x : v) {
            sum += x;
        }
        return sum / v.length;
    }

    // ---- colour fidelity ----

    /**
     * The colour column's histograms, or null without one: {@code colour_bins} 0 is off; left out, it is on (5 bins)
     * when every prompt names its own reference images; a number with a prompt lacking them is an error.
     */
    private ColourFidelity colourFidelity() {
        Integer bins = config.colourBins();
        if (bins != null && bins == 0) {
            return null;
        }
        EvalPrompt bare = prompts.stream().filter(p -> p.ownReferences() == 0).findFirst().orElse(null);
        if (bare != null) {
            if (bins == null) {
                return null;
            }
            throw new IllegalArgumentException("colour_bins: " + bins + " asks for the colour column, but " + config.prompts()
                    + " prompt " + bare.index() + " names no reference image of its own (\"references\" with "
                    + "\"own_references\" > 0); give every prompt one, or set colour_bins: 0");
        }
        return new ColourFidelity(bins == null ? ColourFidelity.DEFAULT_BINS : bins);
    }

    /** Each prompt's pooled colour histogram of its own reference images. */
    private List<long[]> referenceColours(ColourFidelity colour) throws IOException {
        List<long[]> out = new ArrayList<>();
        for (EvalPrompt p : prompts) {
            long[] counts = new long[colour.bins() * colour.bins() * colour.bins()];
            for (Path r : p.ownReferenceImages()) {
                colour.add(counts, ImageFolder.read(r));
            }
            out.add(counts);
        }
        return out;
    }

    /** The colour histogram of each of a setting's images (cheap: not cached). */
    private List<long[]> colourHistograms(SweepSetting s, ColourFidelity colour) throws IOException {
        List<long[]> out = new ArrayList<>();
        for (SweepLayout.Image img : images(s)) {
            out.add(colour.counts(ImageFolder.read(img.file())));
        }
        return out;
    }

    /** Per-image colour distance of a setting's images to their prompt's own references. */
    private double[] colourDistances(SweepSetting s, List<long[]> hists, List<long[]> refs) {
        int[] pos = promptPositions(images(s));
        double[] out = new double[hists.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = ColourFidelity.distance(hists.get(i), refs.get(pos[i]));
        }
        return out;
    }

    /**
     * The colour distance per prompt label (in order of first appearance), each with an interval from its own
     * bootstrap of that label's prompts; empty without labels or a colour column.
     */
    private List<SweepResults.LabelScore> colourByLabel(SweepSetting s, double[] colours) { // also colour diversity
        return colours == null ? List.of() : byLabel(prompts, promptPositions(images(s)), colours, config.bootstrap());
    }

    /**
     * Per-image {@code values} (image i of prompt {@code pos[i]}) averaged per prompt label, each with the interval of
     * a bootstrap of that label's prompts alone; empty when a prompt has no label.
     */
    static List<SweepResults.LabelScore> byLabel(List<EvalPrompt> prompts, int[] pos, double[] colours,
            EvalConfig.BootstrapConfig bc) {
        if (prompts.stream().anyMatch(p -> p.label() == null)) {
            return List.of();
        }
        Map<String, List<Integer>> byLabel = new LinkedHashMap<>();
        for (int p = 0; p < prompts.size(); p++) {
            byLabel.computeIfAbsent(prompts.get(p).label(), k -> new ArrayList<>()).add(p);
        }
        List<SweepResults.LabelScore> out = new ArrayList<>();
        for (Map.Entry<String, List<Integer>> e : byLabel.entrySet()) {
            // 1. the label's prompts renumbered 0..n-1; images of other labels get weight 0
            int[] local = new int[prompts.size()];
            java.util.Arrays.fill(local, -1);
            for (int k = 0; k < e.getValue().size(); k++) {
                local[e.getValue().get(k)] = k;
            }
            double[] ones = new double[colours.length];
            for (int i = 0; i < colours.length; i++) {
                ones[i] = local[pos[i]] >= 0 ? 1 : 0;
            }
            double mean = PromptBootstrap.weightedMean(colours, ones);
            // 2. resamples of those prompts alone
            SweepResults.Interval interval = null;
            double[] reps = null;
            if (bc.resamples() > 0 && e.getValue().size() > 1) {
                int[][] counts = PromptBootstrap.resamples(e.getValue().size(), bc.resamples(), bc.seed());
                reps = new double[counts.length];
                for (int b = 0; b < counts.length; b++) {
                    double[] w = new double[colours.length];
                    for (int i = 0; i < colours.length; i++) {
                        w[i] = local[pos[i]] >= 0 ? counts[b][local[pos[i]]] : 0;
                    }
                    reps[b] = PromptBootstrap.weightedMean(colours, w);
                }
                interval = SweepResults.Interval.of(PromptBootstrap.centred(mean, reps, bc.level()));
            }
            out.add(new SweepResults.LabelScore(e.getKey(), e.getValue().size(), mean, interval, reps));
        }
        return out;
    }

    // ---- prompt alignment ----

    /**
     * Each prompt's label as a class index of the classifier extractor, or null when the prompt file gives no labels.
     * Labels on some prompts only, labels with an extractor that has no class head, or a label the classifier does
     * not know are errors naming the fix.
     */
    private int[] labels(LazyExtractor extractor) throws IOException {
        long labelled = prompts.stream().filter(p -> p.label() != null).count();
        if (labelled == 0) {
            return null;
        }
        if (labelled < prompts.size()) {
            EvalPrompt p = prompts.stream().filter(q -> q.label() == null).findFirst().orElseThrow();
            throw new IllegalArgumentException(config.prompts() + ": prompt " + p.index() + " has no \"label\" while "
                    + labelled + " others have one; label every prompt (or none) for the prompt-alignment column");
        }
        if (!(extractor.get() instanceof DomainClassifier dc)) {
            throw new IllegalArgumentException(config.prompts() + ": the prompts carry \"label\"s, but features.type '"
                    + config.features().type() + "' has no class head to score them; use features.type "
                    + DomainClassifierConfig.TYPE + " or drop the labels");
        }
        List<String> classes = dc.config().classes();
        int[] out = new int[prompts.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = classes.indexOf(prompts.get(i).label());
            if (out[i] < 0) {
                throw new IllegalArgumentException(config.prompts() + ": prompt " + prompts.get(i).index() + " has label \""
                        + prompts.get(i).label() + "\", not one of the classifier's classes " + classes);
            }
        }
        return out;
    }

    /** Per-image probability of its prompt's label under the classifier, cached beside the images. */
    private double[] alignment(SweepSetting s, LazyExtractor extractor, int[] labels) throws IOException {
        List<SweepLayout.Image> images = images(s);
        List<Path> files = images.stream().map(SweepLayout.Image::file).toList();
        int[] pos = promptPositions(images);
        StringBuilder id = new StringBuilder("alignment;").append(extractor.identity()).append(";labels=");
        for (int l : labels) {
            id.append(l).append(',');
        }
        String key = cacheKey(id.toString(), files);
        Path cache = layout.alignment(s);
        if (Files.isRegularFile(cache)) {
            try (SafeTensorsFile st = SafeTensorsFile.open(cache)) {
                if (key.equals(st.metadata().get(CACHE_KEY)) && st.info("alignment").numel() == files.size()) {
                    return st.doubles("alignment");
                }
            }
        }
        DomainClassifier dc = (DomainClassifier) extractor.get();
        double[] out = new double[files.size()];
        int batch = config.features().batchSize();
        for (int start = 0; start < files.size(); start += batch) {
            int end = Math.min(files.size(), start + batch);
            List<BufferedImage> imgs = new ArrayList<>();
            int[] want = new int[end - start];
            for (int i = start; i < end; i++) {
                imgs.add(ImageFolder.read(files.get(i)));
                want[i - start] = labels[pos[i]];
            }
            double[] p;
            try (NDManager m = NDManager.newBaseManager()) {
                p = dc.classProbability(ImageFolder.load(imgs, files.subList(start, end), m), want);
            }
            System.arraycopy(p, 0, out, start, p.length);
        }
        new SafeTensorsWriter().addDoubles("alignment", new long[] {out.length}, out).metadata(CACHE_KEY, key).write(cache);
        return out;
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
