package io.lcmlora.train.eval;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * An evaluation sweep ({@code lcm eval --config configs/eval-X.yaml}): which models and LoRA adapters to sample with,
 * the held-out prompt file, seeds and images per prompt, the feature extractor of the FID, and the sampler settings to
 * compare. Relative paths resolve against the working directory, except the reference images named in the prompt
 * file, which resolve against that file's folder.
 *
 * @param models the base models, each a named diffusers SDXL folder (a setting names the one it samples with)
 * @param adapters LoRA files by name, each with the weight it is applied at
 * @param prompts the JSONL prompt file ({@link EvalPrompts})
 * @param seeds base seeds: prompt p gets images with seeds {@code s, s+1, ..., s+images_per_prompt-1} for each s
 * @param imagesPerPrompt images per prompt and base seed
 * @param width image width in pixels
 * @param height image height in pixels
 * @param batchSize images per pipeline call (consecutive seeds of one prompt)
 * @param negativePrompt the negative prompt of prompts that do not give one (used only with guidance &gt; 1)
 * @param device where the models run: {@code cpu}, {@code gpu} or {@code gpu:N}
 * @param precision {@code fp32} or {@code fp16} for the UNet and the text encoders (the VAE stays fp32)
 * @param features the FID feature extractor
 * @param referenceStats the reference statistics file: a cache of the prompt file's reference images (recomputed when
 *     the images or the extractor change), or precomputed statistics when the prompt file names no references; null =
 *     {@code <output_dir>/reference_stats.safetensors}
 * @param settings the sampler settings to compare
 * @param outputDir where images, grids, results.json, results.md and the plot go
 * @param gridPrompts how many prompts (the first ones) each setting's sample grid shows
 */
public record EvalConfig(
        List<ModelSpec> models,
        List<AdapterSpec> adapters,
        String prompts,
        List<Long> seeds,
        int imagesPerPrompt,
        int width,
        int height,
        int batchSize,
        String negativePrompt,
        String device,
        String precision,
        FeaturesConfig features,
        String referenceStats,
        List<SettingSpec> settings,
        String outputDir,
        int gridPrompts) {

    /** A named base model: a diffusers SDXL folder, optionally with its VAE replaced (e.g. sdxl-vae-fp16-fix). */
    public record ModelSpec(String name, String path, String vae) {
        public ModelSpec {
            name = EvalChecks.name("name", name);
            EvalChecks.notBlank("path", path);
        }
    }

    /** A LoRA file by name and the weight it is applied at (default 1.0). */
    public record AdapterSpec(String name, String file, Double weight) {
        public AdapterSpec {
            name = EvalChecks.name("name", name);
            EvalChecks.notBlank("file", file);
            weight = weight == null ? 1.0 : weight;
            if (!Double.isFinite(weight)) {
                throw EvalChecks.error("weight", "must be a finite number, got " + weight);
            }
        }
    }

    /**
     * The FID feature extractor. {@code type} picks a factory of {@link FeatureExtractors} ({@code inception}: the
     * pytorch-fid InceptionV3 on {@code weights}, a safetensors file from {@code tools/convert_inception_weights.py});
     * {@code dims} and {@code preprocessing} are that factory's to interpret.
     */
    public record FeaturesConfig(String type, String weights, int dims, String preprocessing, int batchSize) {
        public FeaturesConfig {
            EvalChecks.notBlank("type", type);
            EvalChecks.range("dims", dims, 1, 1 << 20);
            EvalChecks.notBlank("preprocessing", preprocessing);
            EvalChecks.range("batch_size", batchSize, 1, 4096);
        }

        /** pytorch-fid's defaults: InceptionV3 pool3 (2048-d), bilinear resize; the weights must be given. */
        public static FeaturesConfig defaults() {
            return new FeaturesConfig("inception", null, 2048, "pytorch-fid", 16);
        }
    }

    /**
     * One sampler setting, or a family of them: a list of {@code steps} and/or {@code guidance} values expands into
     * one setting per combination, named {@code <name>-<steps>steps} / {@code -g<guidance>} for each listed dimension
     * with more than one value. A family is one line of the FID-vs-steps plot.
     *
     * @param name the setting's (or family's) name: letters, digits, '.', '_', '-'
     * @param model the model it samples with (may be omitted when the config has one model)
     * @param scheduler {@code lcm} or {@code ddim}
     * @param steps denoising steps (one or more)
     * @param guidance classifier-free guidance scales (default 1.0 for lcm = no CFG, 5.0 for ddim: diffusers' SDXL default)
     * @param adapters names of the adapters active in this setting (default none: the base model)
     * @param timesteps custom LCM timesteps (strictly decreasing, one per step; only with a single steps value)
     */
    public record SettingSpec(String name, String model, String scheduler, List<Integer> steps, List<Double> guidance,
            List<String> adapters, List<Long> timesteps) {
        public SettingSpec {
            name = EvalChecks.name("name", name);
            if (scheduler == null || !(scheduler.equalsIgnoreCase("lcm") || scheduler.equalsIgnoreCase("ddim"))) {
                throw EvalChecks.error("scheduler", "must be lcm or ddim, got " + scheduler);
            }
            scheduler = scheduler.toLowerCase(Locale.ROOT);
            if (steps == null || steps.isEmpty()) {
                throw EvalChecks.error("steps", "must list at least one step count");
            }
            for (int s : steps) {
                EvalChecks.range("steps", s, 1, 1000);
            }
            steps = List.copyOf(steps);
            guidance = guidance == null || guidance.isEmpty() ? List.of(scheduler.equals("lcm") ? 1.0 : 5.0)
                    : List.copyOf(guidance);
            for (double g : guidance) {
                if (!(g >= 0 && g <= 100)) {
                    throw EvalChecks.error("guidance", "must be in [0, 100], got " + g);
                }
            }
            adapters = adapters == null ? List.of() : List.copyOf(adapters);
            if (new HashSet<>(adapters).size() != adapters.size()) {
                throw EvalChecks.error("adapters", "names an adapter twice: " + adapters);
            }
            if (timesteps != null) {
                if (!scheduler.equals("lcm")) {
                    throw EvalChecks.error("timesteps", "custom timesteps are an LCM option; remove them for ddim");
                }
                if (steps.size() != 1 || steps.get(0) != timesteps.size()) {
                    throw EvalChecks.error("timesteps", "lists " + timesteps.size() + " timesteps; give exactly one steps "
                            + "value equal to that count");
                }
                timesteps = List.copyOf(timesteps);
            }
        }
    }

    public EvalConfig {
        models = models == null ? List.of() : List.copyOf(models);
        adapters = adapters == null ? List.of() : List.copyOf(adapters);
        seeds = seeds == null ? List.of() : List.copyOf(seeds);
        settings = settings == null ? List.of() : List.copyOf(settings);
        EvalChecks.range("images_per_prompt", imagesPerPrompt, 1, 100_000);
        EvalChecks.range("width", width, 8, 16384);
        EvalChecks.range("height", height, 8, 16384);
        EvalChecks.range("batch_size", batchSize, 1, 1024);
        EvalChecks.notBlank("device", device);
        if (!(precision.equals("fp32") || precision.equals("fp16"))) {
            throw EvalChecks.error("precision", "must be fp32 or fp16, got " + precision);
        }
        if (features == null) {
            throw EvalChecks.error("features", "must be given");
        }
        EvalChecks.notBlank("output_dir", outputDir);
        EvalChecks.range("grid_prompts", gridPrompts, 1, 1024);
    }

    /** Defaults for every key a config leaves out; models, prompts and settings must be given. */
    public static EvalConfig defaults() {
        return new EvalConfig(List.of(), List.of(), null, List.of(0L), 1, 1024, 1024, 1, null, "cpu", "fp32",
                FeaturesConfig.defaults(), null, List.of(), "runs/eval", 8);
    }

    /** Fails with the first problem that stops the sweep from running (missing sections, dangling names, seed overlaps). */
    public EvalConfig requireRunnable() {
        if (models.isEmpty()) {
            throw EvalChecks.error("models", "must list at least one model ({name, path})");
        }
        if (prompts == null || prompts.isBlank()) {
            throw EvalChecks.error("prompts", "must name the JSONL prompt file");
        }
        if (seeds.isEmpty()) {
            throw EvalChecks.error("seeds", "must list at least one seed");
        }
        if (settings.isEmpty()) {
            throw EvalChecks.error("settings", "must list at least one sampler setting");
        }
        unique("models", models.stream().map(ModelSpec::name).toList());
        unique("adapters", adapters.stream().map(AdapterSpec::name).toList());
        List<Long> sorted = seeds.stream().sorted().toList();
        for (int i = 1; i < sorted.size(); i++) {
            if (sorted.get(i) - sorted.get(i - 1) < imagesPerPrompt) {
                throw EvalChecks.error("seeds", "base seeds " + sorted.get(i - 1) + " and " + sorted.get(i) + " are closer "
                        + "than images_per_prompt (" + imagesPerPrompt + "): their images would share seeds");
            }
        }
        for (int i = 0; i < settings.size(); i++) {
            SettingSpec s = settings.get(i);
            String at = "settings[" + i + "]";
            if (s.model() == null && models.size() > 1) {
                throw EvalChecks.error(at + ".model", "must name one of the models " + modelNames() + " (there are several)");
            }
            if (s.model() != null && models.stream().noneMatch(m -> m.name().equals(s.model()))) {
                throw EvalChecks.error(at + ".model", "unknown model '" + s.model() + "'; the models are " + modelNames());
            }
            for (String a : s.adapters()) {
                if (adapters.stream().noneMatch(x -> x.name().equals(a))) {
                    throw EvalChecks.error(at + ".adapters", "unknown adapter '" + a + "'; the adapters are "
                            + adapters.stream().map(AdapterSpec::name).toList());
                }
            }
        }
        unique("settings (after expanding steps/guidance lists)", expand().stream().map(SweepSetting::name).toList());
        return this;
    }

    /** Every setting with its steps and guidance lists expanded, in config order. */
    public List<SweepSetting> expand() {
        List<SweepSetting> out = new ArrayList<>();
        for (SettingSpec s : settings) {
            ModelSpec model = s.model() == null ? models.get(0)
                    : models.stream().filter(m -> m.name().equals(s.model())).findFirst().orElseThrow();
            List<AdapterSpec> used = s.adapters().stream()
                    .map(a -> adapters.stream().filter(x -> x.name().equals(a)).findFirst().orElseThrow()).toList();
            for (double g : s.guidance()) {
                String family = s.guidance().size() > 1 ? s.name() + "-g" + SweepSetting.number(g) : s.name();
                for (int steps : s.steps()) {
                    String name = s.steps().size() > 1 ? family + "-" + steps + "steps" : family;
                    out.add(new SweepSetting(name, family, model, s.scheduler(), steps, g, used, s.timesteps()));
                }
            }
        }
        return out;
    }

    /** The reference stats file (see {@link #referenceStats}). */
    public Path referenceStatsPath() {
        return referenceStats != null ? Path.of(referenceStats) : Path.of(outputDir, "reference_stats.safetensors");
    }

    private List<String> modelNames() {
        return models.stream().map(ModelSpec::name).toList();
    }

    private static void unique(String key, List<String> names) {
        Set<String> seen = new HashSet<>();
        for (String n : names) {
            if (!seen.add(n)) {
                throw EvalChecks.error(key, "name '" + n + "' is used twice");
            }
        }
    }
}
