package io.lcmlora.train.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.lcmlora.eval.FrechetDistance;
import io.lcmlora.schedule.SchedulerKind;
import io.lcmlora.train.config.EvalConfig;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A whole sweep on a synthetic generator and a projection extractor: outputs, FID values, resume. */
class EvalSweepTest {
    static final int SIZE = 16;
    static final int PROMPTS = 6;

    @TempDir
    Path tmp;

    /** A textured image around a per-prompt colour; {@code noise} scales how far it strays (the "sampling error"). */
    static BufferedImage texture(int prompt, long seed, double noise) {
        SplittableRandom r = new SplittableRandom(seed * 7919 + prompt);
        int[] base = {40 + 30 * prompt, 200 - 25 * prompt, 90 + 20 * (prompt % 3)};
        BufferedImage img = new BufferedImage(SIZE, SIZE, BufferedImage.TYPE_INT_RGB);
        double shift = noise * r.nextGaussian() * 60;
        for (int y = 0; y < SIZE; y++) {
            for (int x = 0; x < SIZE; x++) {
                int rgb = 0;
                for (int c = 0; c < 3; c++) {
                    double v = base[c] + shift + 25 * r.nextGaussian() + noise * 40 * Math.sin(x + c);
                    rgb = rgb << 8 | (int) Math.max(0, Math.min(255, Math.round(v)));
                }
                img.setRGB(x, y, rgb);
            }
        }
        return img;
    }

    /** Counts calls and images; noise falls with steps; {@code failAt} (1-based call) throws to simulate a kill. */
    static final class FakeGenerator implements SampleGenerator.Factory {
        final AtomicInteger calls = new AtomicInteger();
        final AtomicInteger images = new AtomicInteger();
        final AtomicInteger opened = new AtomicInteger();
        int failAt = -1;

        @Override
        public SampleGenerator open(EvalConfig.ModelSpec model, EvalConfig config) {
            opened.incrementAndGet();
            return new SampleGenerator() {
                /** One call of the sweep: several prompts' runs of seeds, as one batch. */
                @Override
                public List<Sample> generate(SweepSetting s, List<Request> requests) {
                    if (calls.incrementAndGet() == failAt) {
                        throw new IllegalStateException("simulated interruption");
                    }
                    int n = requests.stream().mapToInt(Request::count).sum();
                    assertTrue(n <= 3, "a call holds at most batch_size (3) images, got " + n);
                    List<Sample> out = new ArrayList<>();
                    for (Request r : requests) {
                        out.addAll(generate(s, r.prompt(), r.negativePrompt(), r.firstSeed(), r.count()));
                    }
                    return out;
                }

                @Override
                public List<Sample> generate(SweepSetting s, EvalPrompt p, String negative, long firstSeed, int count) {
                    List<Sample> out = new ArrayList<>();
                    double noise = (s.scheduler() == SchedulerKind.LCM ? 1.5 : 3.0) / s.steps();
                    for (int k = 0; k < count; k++) {
                        out.add(new Sample(texture(p.index(), 1000 + firstSeed + k, noise), null));
                        images.incrementAndGet();
                    }
                    return out;
                }

                @Override
                public void close() {}
            };
        }
    }

    EvalConfig config() throws IOException {
        Path refs = Files.createDirectories(tmp.resolve("data/refs"));
        StringBuilder jsonl = new StringBuilder();
        for (int p = 0; p < PROMPTS; p++) {
            List<String> names = new ArrayList<>();
            for (int k = 0; k < 2; k++) {
                String name = "refs/" + p + "_" + k + ".png";
                ImageIO.write(texture(p, 50 + k, 0), "png", tmp.resolve("data").resolve(name).toFile());
                names.add("\"" + name + "\"");
            }
            jsonl.append("{\"prompt\": \"prompt number ").append(p).append("\", \"references\": ").append(names)
                    .append("}\n");
        }
        Files.writeString(tmp.resolve("data/prompts.jsonl"), jsonl.toString());
        List<EvalConfig.SettingSpec> settings = List.of(
                new EvalConfig.SettingSpec("lcm", null, SchedulerKind.LCM, List.of(1, 2, 4), List.of(1.0), List.of("lcm"), null, null, null),
                new EvalConfig.SettingSpec("ddim", null, SchedulerKind.DDIM, List.of(4, 8), List.of(5.0), null, null, null, null));
        return new EvalConfig(List.of(new EvalConfig.ModelSpec("tiny", tmp.resolve("model").toString())),
                List.of(new EvalConfig.AdapterSpec("lcm", "lcm.safetensors", null)),
                tmp.resolve("data/prompts.jsonl").toString(), List.of(0L, 10L), 2, SIZE, SIZE, 3, null, "cpu", io.lcmlora.engine.Precision.FP32,
                new EvalConfig.FeaturesConfig("pixels", null, 8, "none", 5), null, settings,
                tmp.resolve("out").toString(), 4, null, EvalConfig.BootstrapConfig.defaults(), null);
    }

    static FeatureExtractors extractors() {
        return FeatureExtractors.standard();
    }

    static Map<Path, FileTime> pngTimes(Path root) throws IOException {
        Map<Path, FileTime> m = new HashMap<>();
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.filter(p -> p.toString().endsWith(".png") && !p.getFileName().toString().startsWith("grid_")
                    && !p.getFileName().toString().equals(SweepLayout.PLOT)).toList()) {
                m.put(p, Files.getLastModifiedTime(p));
            }
        }
        return m;
    }

    /** FID of a setting recomputed here: two-pass mean/covariance of the extractor's features of the PNGs. */
    static double fidByHand(List<Path> reference, List<Path> samples) throws IOException {
        double[][] a = features(reference);
        double[][] b = features(samples);
        return FrechetDistance.compute(mean(a), cov(a), mean(b), cov(b)).value();
    }

    static double[][] features(List<Path> files) throws IOException {
        PixelProjection ex = new PixelProjection(8);
        double[][] out = new double[files.size()][];
        try (ai.djl.ndarray.NDManager m = ai.djl.ndarray.NDManager.newBaseManager()) {
            for (int i = 0; i < files.size(); i++) {
                BufferedImage img = ImageIO.read(files.get(i).toFile());
                out[i] = ex.features(io.lcmlora.eval.ImageFolder.load(List.of(img), List.of(files.get(i)), m))[0];
            }
        }
        return out;
    }

    static double[] mean(double[][] x) {
        double[] m = new double[x[0].length];
        for (double[] r : x) {
            for (int j = 0; j < m.length; j++) {
                m[j] += r[j] / x.length;
            }
        }
        return m;
    }

    static double[][] cov(double[][] x) {
        double[] m = mean(x);
        int d = m.length;
        double[][] c = new double[d][d];
        for (double[] r : x) {
            for (int i = 0; i < d; i++) {
                for (int j = 0; j < d; j++) {
                    c[i][j] += (r[i] - m[i]) * (r[j] - m[j]) / (x.length - 1);
                }
            }
        }
        return c;
    }

    @Test
    void sweepWritesEverythingAndResumesWithoutRegenerating() throws IOException {
        EvalConfig cfg = config();
        Path out = Path.of(cfg.outputDir());
        FakeGenerator gen = new FakeGenerator();
        SweepResults first = EvalSweep.run(cfg, gen, extractors(), SweepProgress.none());
        int perSetting = PROMPTS * 2 * 2;
        assertEquals(5 * perSetting, gen.images.get());
        assertEquals(1, gen.opened.get());
        // runs of consecutive seeds ({0,1} and {10,11} per prompt) packed across prompts into calls of batch_size (3)
        // images: 24 images per setting in 8 full calls (one call per prompt run would be 12)
        assertEquals(5 * (perSetting / 3), gen.calls.get());

        // results.json: one entry per expanded setting, in config order, with counts and settings
        JsonObject json = JsonParser.parseString(Files.readString(out.resolve("results.json"), StandardCharsets.UTF_8))
                .getAsJsonObject();
        assertEquals("lcm-eval-results", json.get("format").getAsString());
        JsonArray rows = json.getAsJsonArray("settings");
        List<String> names = new ArrayList<>();
        rows.forEach(r -> names.add(r.getAsJsonObject().get("name").getAsString()));
        assertEquals(List.of("lcm-1steps", "lcm-2steps", "lcm-4steps", "ddim-4steps", "ddim-8steps"), names);
        assertEquals(PROMPTS * 2, json.getAsJsonObject("reference").get("samples").getAsLong());
        List<Path> refs = new ArrayList<>();
        for (int p = 0; p < PROMPTS; p++) {
            refs.add(tmp.resolve("data/refs/" + p + "_0.png"));
            refs.add(tmp.resolve("data/refs/" + p + "_1.png"));
        }
        for (int i = 0; i < rows.size(); i++) {
            JsonObject r = rows.get(i).getAsJsonObject();
            assertEquals(perSetting, r.get("samples").getAsLong());
            assertEquals(PROMPTS * 2, r.get("reference_samples").getAsLong());
            List<Path> files;
            try (Stream<Path> s = Files.list(out.resolve(names.get(i)))) {
                files = s.filter(p -> p.toString().endsWith(".png")).sorted().toList();
            }
            assertEquals(perSetting, files.size());
            double fid = r.get("fid").getAsDouble();
            assertEquals(fidByHand(refs, files), fid, 1e-9 * Math.max(1, fid), names.get(i));
            assertEquals(perSetting, r.get("images_generated").getAsLong());
        }
        JsonObject lcm1 = rows.get(0).getAsJsonObject();
        assertEquals("lcm", lcm1.get("family").getAsString());
        assertEquals(1, lcm1.get("steps").getAsInt());
        assertEquals("lcm", lcm1.getAsJsonArray("adapters").get(0).getAsJsonObject().get("name").getAsString());
        assertEquals(5.0, rows.get(3).getAsJsonObject().get("guidance").getAsDouble());
        // the synthetic error shrinks with steps, and FID sees it
        double[] fids = first.settings().stream().mapToDouble(SweepResults.Setting::fid).toArray();
        assertTrue(fids[0] > fids[1] && fids[1] > fids[2], java.util.Arrays.toString(fids));
        assertTrue(fids[3] > fids[4], java.util.Arrays.toString(fids));

        String md = Files.readString(out.resolve("results.md"));
        // the prompts name their own references, so the colour column is on by default
        assertTrue(md.contains("| setting | model | sampler | steps | guidance | FID | 90% interval | colour distance "
                + "| 90% interval | colour diversity | 90% interval | prompts | samples | reference | s/image |"), md);
        SweepResults.Setting lcm4 = first.settings().get(2);
        assertTrue(md.contains("| lcm-4steps | tiny | lcm + lcm@1 | 4 | 1 | " + SweepResults.fid(fids[2]) + " | "
                + SweepResults.interval(lcm4.fidInterval()) + " | " + String.format(java.util.Locale.ROOT, "%.3f",
                        lcm4.colour()) + " | " + SweepResults.interval(lcm4.colourInterval()) + " | "
                + String.format(java.util.Locale.ROOT, "%.3f", lcm4.colourDiversity()) + " | "
                + SweepResults.interval(lcm4.colourDiversityInterval()) + " | " + PROMPTS + " | "
                + perSetting + " | " + PROMPTS * 2 + " |"), md);

        // the bootstrap, brute force: replicate b is the FID of the image lists with each drawn prompt's images
        // (generated and reference) repeated by its draw count
        assertEquals(200, json.getAsJsonObject("bootstrap").get("resamples").getAsInt());
        int[][] counts = PromptBootstrap.resamples(PROMPTS, 200, 0);
        for (int b : new int[] {0, 7}) {
            List<Path> dupRefs = new ArrayList<>();
            List<Path> dupFiles = new ArrayList<>();
            for (int p = 0; p < PROMPTS; p++) {
                for (int k = 0; k < counts[b][p]; k++) {
                    dupRefs.add(refs.get(2 * p));
                    dupRefs.add(refs.get(2 * p + 1));
                    for (long seed : new long[] {0, 1, 10, 11}) {
                        dupFiles.add(out.resolve("lcm-4steps").resolve(String.format("%05d_%d.png", p, seed)));
                    }
                }
            }
            double want = fidByHand(dupRefs, dupFiles);
            assertEquals(want, lcm4.fidReplicates()[b], 1e-8 * Math.max(1, want), "replicate " + b);
        }
        double[] sorted = lcm4.fidReplicates().clone();
        java.util.Arrays.sort(sorted);
        // the interval: the replicates' 5th..95th percentile spread around their median, placed around the FID
        double shift = lcm4.fid() - PromptBootstrap.quantile(sorted, 0.5);
        assertEquals(PromptBootstrap.quantile(sorted, 0.05) + shift, lcm4.fidInterval().low(), 1e-12);
        assertEquals(PromptBootstrap.quantile(sorted, 0.95) + shift, lcm4.fidInterval().high(), 1e-12);
        assertTrue(lcm4.fidInterval().low() <= lcm4.fid() && lcm4.fid() <= lcm4.fidInterval().high());
        for (String n : names) {
            BufferedImage grid = ImageIO.read(out.resolve("grid_" + n + ".png").toFile());
            // 4 prompt columns, 4 seed rows (0, 1, 10, 11) of 192-px cells
            int cell = EvalSweep.GRID_CELL;
            assertEquals(SampleGrid.GAP + 4 * (cell + SampleGrid.GAP), grid.getWidth());
            assertEquals(SampleGrid.TITLE + SampleGrid.HEADER + 4 * (cell + SampleGrid.GAP) + SampleGrid.GAP,
                    grid.getHeight());
        }
        BufferedImage plot = ImageIO.read(out.resolve("fid_vs_steps.png").toFile());
        assertEquals(900, plot.getWidth());
        assertEquals(560, plot.getHeight());

        // a second run generates nothing, touches no image and measures the same FIDs
        Map<Path, FileTime> before = pngTimes(out);
        FakeGenerator again = new FakeGenerator();
        SweepResults second = EvalSweep.run(cfg, again, extractors(), SweepProgress.none());
        assertEquals(0, again.opened.get());
        assertEquals(0, again.calls.get());
        assertEquals(before, pngTimes(out));
        for (int i = 0; i < fids.length; i++) {
            assertEquals(fids[i], second.settings().get(i).fid(), 0.0);
        }
    }

    @Test
    void interruptedSweepRegeneratesOnlyWhatIsMissing() throws IOException {
        EvalConfig cfg = config();
        Path out = Path.of(cfg.outputDir());
        FakeGenerator killed = new FakeGenerator();
        killed.failAt = 7;
        assertThrows(IllegalStateException.class, () -> EvalSweep.run(cfg, killed, extractors(), SweepProgress.none()));
        int written = killed.images.get();
        assertEquals(6 * 3, written); // six full calls of batch_size (3) images
        assertEquals(written, pngTimes(out).size());
        // a temp file left by a write that was cut off is cleaned up and never counted
        Files.writeString(out.resolve("lcm-1steps/.00003_0.png.123.tmp"), "partial");
        Map<Path, FileTime> before = pngTimes(out);

        FakeGenerator resumed = new FakeGenerator();
        List<Long> progress = new ArrayList<>();
        long[] start = new long[2];
        SweepResults results = EvalSweep.run(cfg, resumed, extractors(), new SweepProgress() {
            @Override
            public void start(long total, long alreadyDone) {
                start[0] = total;
                start[1] = alreadyDone;
            }

            @Override
            public void images(long done, String setting) {
                progress.add(done);
            }

            @Override
            public void message(String text) {}
        });
        int total = 5 * PROMPTS * 2 * 2;
        assertEquals(total, start[0]);
        assertEquals(written, start[1]);
        assertEquals(total - written, resumed.images.get());
        assertEquals(total, progress.get(progress.size() - 1));
        assertTrue(Files.notExists(out.resolve("lcm-1steps/.00003_0.png.123.tmp")));
        Map<Path, FileTime> after = pngTimes(out);
        before.forEach((p, t) -> assertEquals(t, after.get(p), p.toString()));

        // the same FIDs as an uninterrupted sweep in a fresh folder
        Path fresh = tmp.resolve("fresh");
        EvalConfig cfg2 = new EvalConfig(cfg.models(), cfg.adapters(), cfg.prompts(), cfg.seeds(), cfg.imagesPerPrompt(),
                cfg.width(), cfg.height(), 1, null, cfg.device(), cfg.precision(), cfg.features(), null, cfg.settings(),
                fresh.toString(), cfg.gridPrompts(), null, cfg.bootstrap(), null);
        SweepResults clean = EvalSweep.run(cfg2, new FakeGenerator(), extractors(), SweepProgress.none());
        for (int i = 0; i < 5; i++) {
            assertEquals(clean.settings().get(i).fid(), results.settings().get(i).fid(), 0.0);
        }
    }

    @Test
    void precomputedReferenceStatsAreUsedAndNeverOverwritten() throws IOException {
        EvalConfig cfg = config();
        List<Path> refs = new ArrayList<>();
        StringBuilder bare = new StringBuilder();
        for (int p = 0; p < PROMPTS; p++) {
            refs.add(tmp.resolve("data/refs/" + p + "_0.png"));
            refs.add(tmp.resolve("data/refs/" + p + "_1.png"));
            bare.append("{\"prompt\": \"prompt number ").append(p).append("\"}\n");
        }
        Path stats = tmp.resolve("coco_stats.safetensors");
        io.lcmlora.eval.FidStats.ofFiles(refs, new PixelProjection(8), 4, null).save(stats);
        Files.writeString(tmp.resolve("data/bare.jsonl"), bare.toString());
        List<EvalConfig.SettingSpec> one = List.of(cfg.settings().get(0));
        EvalConfig withRefs = new EvalConfig(cfg.models(), cfg.adapters(), cfg.prompts(), cfg.seeds(), 2, SIZE, SIZE, 3,
                null, "cpu", io.lcmlora.engine.Precision.FP32, cfg.features(), null, one, tmp.resolve("a").toString(), 4, null, cfg.bootstrap(), null);
        EvalConfig precomputed = new EvalConfig(cfg.models(), cfg.adapters(), tmp.resolve("data/bare.jsonl").toString(),
                cfg.seeds(), 2, SIZE, SIZE, 3, null, "cpu", io.lcmlora.engine.Precision.FP32, cfg.features(), stats.toString(),
                one, tmp.resolve("b").toString(), 4, null, cfg.bootstrap(), null);
        SweepResults a = EvalSweep.run(withRefs, new FakeGenerator(), extractors(), SweepProgress.none());
        SweepResults b = EvalSweep.run(precomputed, new FakeGenerator(), extractors(), SweepProgress.none());
        assertEquals("precomputed stats file", b.reference().source());
        for (int i = 0; i < 3; i++) {
            assertEquals(a.settings().get(i).fid(), b.settings().get(i).fid(), 1e-9 * a.settings().get(i).fid());
        }
        // a stats file the sweep did not write is not a cache to overwrite
        byte[] before = Files.readAllBytes(stats);
        EvalConfig clash = new EvalConfig(cfg.models(), cfg.adapters(), cfg.prompts(), cfg.seeds(), 2, SIZE, SIZE, 3,
                null, "cpu", io.lcmlora.engine.Precision.FP32, cfg.features(), stats.toString(), one, tmp.resolve("b").toString(), 4, null, cfg.bootstrap(), null);
        IOException e = assertThrows(IOException.class,
                () -> EvalSweep.run(clash, new FakeGenerator(), extractors(), SweepProgress.none()));
        assertTrue(e.getMessage().contains("not written by a sweep"), e.getMessage());
        assertArrayEquals(before, Files.readAllBytes(stats));
    }

    /** A copy of {@code cfg} with another prompt file, output folder and colour_bins. */
    static EvalConfig with(EvalConfig cfg, String prompts, Path out, Integer colourBins) {
        return new EvalConfig(cfg.models(), cfg.adapters(), prompts, cfg.seeds(), cfg.imagesPerPrompt(), cfg.width(),
                cfg.height(), cfg.batchSize(), null, cfg.device(), cfg.precision(), cfg.features(), null,
                List.of(cfg.settings().get(1)), out.toString(), cfg.gridPrompts(), null, cfg.bootstrap(), colourBins);
    }

    @Test
    void colourColumnScoresEachImageAgainstItsOwnPromptsFirstReferences() throws IOException {
        EvalConfig cfg = config();
        // the same prompts, each saying only its first reference is its own (the second only fills the FID set)
        StringBuilder own = new StringBuilder();
        for (int p = 0; p < PROMPTS; p++) {
            own.append("{\"prompt\": \"prompt number ").append(p).append("\", \"references\": [\"refs/").append(p)
                    .append("_0.png\", \"refs/").append(p).append("_1.png\"], \"own_references\": 1}\n");
        }
        Path ownFile = tmp.resolve("data/own.jsonl");
        Files.writeString(ownFile, own.toString());
        SweepResults r = EvalSweep.run(with(cfg, ownFile.toString(), tmp.resolve("own"), 3), new FakeGenerator(),
                extractors(), SweepProgress.none());
        ColourFidelity c = new ColourFidelity(3);
        for (SweepResults.Setting s : r.settings()) {
            double sum = 0;
            int n = 0;
            for (int p = 0; p < PROMPTS; p++) {
                long[] ref = c.counts(ImageIO.read(tmp.resolve("data/refs/" + p + "_0.png").toFile()));
                for (long seed : cfg.seeds()) {
                    for (int k = 0; k < cfg.imagesPerPrompt(); k++) {
                        Path img = tmp.resolve("own").resolve(s.imagesDir()).resolve(String.format("%05d_%d.png", p, seed + k));
                        sum += ColourFidelity.distance(c.counts(ImageIO.read(img.toFile())), ref);
                        n++;
                    }
                }
            }
            assertEquals(sum / n, s.colour(), 1e-12, s.name());
            assertTrue(s.colourDiversity() > 0 && s.colourDiversity() <= 1, s.name());
            assertTrue(s.colourInterval().low() <= s.colour() && s.colour() <= s.colourInterval().high());
            assertTrue(s.colourByLabel().isEmpty(), "no labels, no breakdown");
        }
        assertTrue(r.colour().contains("3 bins per channel"), r.colour());
        String md = Files.readString(tmp.resolve("own").resolve(SweepLayout.RESULTS_MD));
        assertTrue(md.contains("| colour distance | 90% interval |"), md);
        // 0 turns the column off; left out, prompts without references have none; a number with them is an error
        assertEquals(null, EvalSweep.run(with(cfg, ownFile.toString(), tmp.resolve("own"), 0), new FakeGenerator(),
                extractors(), SweepProgress.none()).colour());
        Path bare = tmp.resolve("data/bare-colour.jsonl");
        Files.writeString(bare, "{\"prompt\": \"a\", \"references\": [\"refs/0_0.png\"]}\n"
                + "{\"prompt\": \"b\", \"references\": [\"refs/1_0.png\"], \"own_references\": 0}\n");
        assertEquals(null, EvalSweep.run(with(cfg, bare.toString(), tmp.resolve("bare"), null), new FakeGenerator(),
                extractors(), SweepProgress.none()).colour());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> EvalSweep.run(
                with(cfg, bare.toString(), tmp.resolve("bare"), 5), new FakeGenerator(), extractors(), SweepProgress.none()));
        assertTrue(e.getMessage().contains("colour_bins: 5") && e.getMessage().contains("prompt 1"), e.getMessage());
        Path over = tmp.resolve("data/over.jsonl");
        Files.writeString(over, "{\"prompt\": \"a\", \"references\": [\"refs/0_0.png\"], \"own_references\": 2}\n");
        IOException o = assertThrows(IOException.class, () -> EvalPrompts.read(over));
        assertTrue(o.getMessage().contains("over.jsonl:1") && o.getMessage().contains("\"own_references\" must be a whole "
                + "number in [0, 1]"), o.getMessage());
        io.lcmlora.train.config.ConfigException bad = assertThrows(io.lcmlora.train.config.ConfigException.class,
                () -> with(cfg, bare.toString(), tmp.resolve("bare"), 1));
        assertTrue(bad.getMessage().contains("colour_bins"), bad.getMessage());
    }

    @Test
    void colourByLabelBootstrapsEachLabelsPromptsAlone() {
        List<EvalPrompt> prompts = new ArrayList<>();
        String[] labels = {"Flags", "Smileys", "Flags", "Smileys", "Flags"};
        for (int p = 0; p < labels.length; p++) {
            prompts.add(new EvalPrompt(p, "p" + p, null, List.of(), 0, labels[p]));
        }
        // two images per prompt; Flags images all 0.8 (constant: zero-width interval), Smileys 0.1 and 0.3 per prompt
        int[] pos = {0, 0, 1, 1, 2, 2, 3, 3, 4, 4};
        double[] v = {0.8, 0.8, 0.1, 0.1, 0.8, 0.8, 0.3, 0.3, 0.8, 0.8};
        List<SweepResults.LabelScore> by = EvalSweep.byLabel(prompts, pos, v, new EvalConfig.BootstrapConfig(200, 0, 0.9));
        assertEquals(2, by.size());
        assertEquals("Flags", by.get(0).label());
        assertEquals(3, by.get(0).prompts());
        assertEquals(0.8, by.get(0).mean(), 1e-12);
        assertEquals(0.8, by.get(0).interval().low(), 1e-12);
        assertEquals(0.8, by.get(0).interval().high(), 1e-12);
        assertEquals(0.2, by.get(1).mean(), 1e-12);
        // two prompts resampled: each replicate's mean is 0.1, 0.2 or 0.3, so the interval lies in [0.1, 0.3]
        assertTrue(by.get(1).interval().low() >= 0.1 - 1e-12 && by.get(1).interval().high() <= 0.3 + 1e-12);
        assertTrue(by.get(1).interval().high() > by.get(1).interval().low());
        List<EvalPrompt> unlabelled = List.of(new EvalPrompt(0, "p", null, List.of(), 0, null));
        assertTrue(EvalSweep.byLabel(unlabelled, new int[] {0}, new double[] {0.5}, EvalConfig.BootstrapConfig.defaults())
                .isEmpty());
    }

    @Test
    void labelScoresOfTwoSettingsArePairedResampleByResample() {
        // 6 Flags prompts with widely varying values in setting b; a = b - 0.1 on every image: the paired difference
        // is exactly -0.1 in every resample, while each setting's own interval is wide
        List<EvalPrompt> prompts = new ArrayList<>();
        int[] pos = new int[12];
        double[] b = new double[12];
        double[] a = new double[12];
        double[] perPrompt = {0.2, 0.9, 0.4, 0.7, 0.5, 0.3};
        for (int p = 0; p < perPrompt.length; p++) {
            prompts.add(new EvalPrompt(p, "p" + p, null, List.of(), 0, "Flags"));
            for (int k = 0; k < 2; k++) {
                pos[2 * p + k] = p;
                b[2 * p + k] = perPrompt[p] + 0.01 * k;
                a[2 * p + k] = b[2 * p + k] - 0.1;
            }
        }
        EvalConfig.BootstrapConfig bc = new EvalConfig.BootstrapConfig(200, 3, 0.9);
        SweepResults.LabelScore la = EvalSweep.byLabel(prompts, pos, a, bc).get(0);
        SweepResults.LabelScore lb = EvalSweep.byLabel(prompts, pos, b, bc).get(0);
        assertEquals(200, la.replicates().length);
        assertTrue(lb.interval().high() - lb.interval().low() > 0.1, "unpaired spread over the prompts");
        SweepResults r = new SweepResults(SweepResults.FORMAT, SweepResults.VERSION, "p", 6, List.of(0L), 2, 32, 32,
                "e", "none", 8, new SweepResults.Reference("s", 6, "src"),
                new SweepResults.Bootstrap("prompt", 6, 200, 3, 0.9), null, null, List.of(), null, null, List.of());
        PromptBootstrap.Interval d = r.labelDifferenceInterval(la, lb);
        assertEquals(-0.1, d.low(), 1e-12);
        assertEquals(-0.1, d.high(), 1e-12);
        // the replicates survive results.json
        SweepResults.LabelScore back = SweepResults.fromJson(new SweepResults(r.format(), r.version(), r.prompts(), 6,
                r.seeds(), 2, 32, 32, "e", "none", 8, r.reference(), r.bootstrap(), null, null, List.of(), "c", 0.5,
                List.of(la)).toJson()).referenceColourDiversityByLabel().get(0);
        assertEquals(la.replicates()[17], back.replicates()[17], 0);
        // another label, or the same label over another prompt count, cannot be paired
        SweepResults.LabelScore other = new SweepResults.LabelScore("Smileys", 6, 0.5, null, la.replicates());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> r.labelDifferenceInterval(la, other));
        assertTrue(e.getMessage().contains("'Flags' (6 prompts) and 'Smileys' (6 prompts)"), e.getMessage());
        assertNull(r.labelDifferenceInterval(new SweepResults.LabelScore("Flags", 6, 0.5, null, null), lb));
    }
}
