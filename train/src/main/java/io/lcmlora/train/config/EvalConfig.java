package io.lcmlora.train.config;

import io.lcmlora.schedule.SamplerOptions;
import io.lcmlora.schedule.SchedulerConfig.TimestepSpacing;
import io.lcmlora.schedule.SchedulerKind;
import io.lcmlora.engine.DeviceSpec;
import io.lcmlora.engine.Precision;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * An evaluation sweep ({@code lcm eval --config configs/eval-X.yaml}): which models and LoRA adapters to sample with,
 * the held-out prompt file, seeds and images per prompt, the FID feature extractor, and the sampler settings to
 * compare. Bound strictly from YAML like {@link TrainConfig}. Relative paths resolve against the working directory,
 * except the reference images named in the prompt file, which resolve against that file's folder.
 *
 * @param models the base models, each a named diffusers SDXL folder (a setting names the one it samples with)
 * @param adapters LoRA files by name, each with the weight it is applied at
 * @param prompts the JSONL prompt file ({@code io.lcmlora.train.eval.EvalPrompts})
 * @param seeds base seeds: prompt p gets images with seeds {@code s, s+1, ..., s+images_per_prompt-1} for each s
 * @param imagesPerPrompt images per prompt and base seed
 * @param width image width in pixels
 * @param height image height in pixels
 * @param batchSize images per pipeline call: runs of consecutive seeds, several prompts packed into one batched call
 * @param negativePrompt the negative prompt of prompts that give none (used only with guidance &gt; 1)
 * @param device where the models run: {@code auto}, {@code cpu}, {@code gpu} or {@code gpu:N}
 * @param precision the UNet's and text encoders' precision (the VAE stays fp32)
 * @param features the FID feature extractor
 * @param referenceStats the reference statistics file: a cache of the prompt file's reference images (recomputed when
 *     the images or the extractor change), or precomputed statistics when the prompt file names no references; null =
 *     {@code <output_dir>/reference_stats.safetensors}
 * @param settings the sampler settings to compare
 * @param outputDir where images, grids, results.json, results.md and the plot go
 * @param gridPrompts how many prompts (the first ones) each setting's sample grid shows
 * @param clipScore the CLIP towers of the CLIP-score column; null = no CLIP score
 * @param bootstrap the bootstrap over prompts behind every reported interval
 * @param colourBins the colour-fidelity column ({@code io.lcmlora.train.eval.ColourFidelity}): CIELAB histogram bins
 *     per channel, 2..16; 0 = no colour column; null = 5 bins when every prompt names its own reference image(s),
 *     else no column (a number with a prompt lacking references is an error)
 */
public record EvalConfig(
        List<ModelSpec> models,
        List<AdapterSpec> adapters,
        @Nullable String prompts,
        List<Long> seeds,
        int imagesPerPrompt,
        int width,
        int height,
        int batchSize,
        @Nullable String negativePrompt,
        String device,
        Precision precision,
        FeaturesConfig features,
        @Nullable String referenceStats,
        List<SettingSpec> settings,
        String outputDir,
        int gridPrompts,
        @Nullable ClipScoreConfig clipScore,
        BootstrapConfig bootstrap,
        @Nullable Integer colourBins) {

    /** A named base model: a diffusers SDXL folder (with model_index.json). */
    public record ModelSpec(String name, String path) {
        public ModelSpec {
            Check.name("name", name);
            Check.notBlank("path", path);
        }
    }

    /** A LoRA file by name and the weight it is applied at (default 1.0). */
    public record AdapterSpec(String name, String file, Double weight) {
        public AdapterSpec {
            Check.name("name", name);
            Check.notBlank("file", file);
            weight = weight == null ? 1.0 : weight;
            Check.closed("weight", weight, -100, 100);
        }
    }

    /**
     * The FID feature extractor. {@code type} picks a factory of {@code io.lcmlora.train.eval.FeatureExtractors}
     * ({@code inception}: pytorch-fid's InceptionV3 on {@code weights}, a safetensors file written by
     * {@code tools/convert_inception_weights.py}); {@code dims} and {@code preprocessing} are that factory's to read.
     */
    public record FeaturesConfig(String type, @Nullable String weights, int dims, String preprocessing, int batchSize) {
        public FeaturesConfig {
            Check.notBlank("type", type);
            Check.range("dims", dims, 1, 1 << 20);
            Check.notBlank("preprocessing", preprocessing);
            Check.range("batch_size", batchSize, 1, 4096);
        }

        /** pytorch-fid's defaults: InceptionV3 pool3 (2048-d), bilinear resize; the weights must be given. */
        public static FeaturesConfig defaults() {
            return new FeaturesConfig("inception", null, 2048, "pytorch-fid", 16);
        }
    }

    /**
     * The CLIP-score column ({@code io.lcmlora.eval.ClipScore}): {@code 100 * max(cos, 0)} between each image and its
     * prompt, averaged over the setting's images.
     *
     * @param vision a CLIPVisionModelWithProjection folder (IP-Adapter's {@code image_encoder}) or a full CLIPModel
     *     folder (openai/clip-vit-large-patch14)
     * @param text the matching text tower: a text encoder folder with {@code text_projection} (SDXL's
     *     {@code text_encoder_2} pairs with a ViT-bigG vision tower) or the same full CLIPModel folder
     * @param tokenizer the text tower's tokenizer folder (vocab.json + merges.txt); null = {@code text} itself
     * @param batchSize images per vision forward pass (default 16)
     */
    public record ClipScoreConfig(String vision, String text, @Nullable String tokenizer, @Nullable Integer batchSize) {
        public ClipScoreConfig {
            Check.notBlank("vision", vision);
            Check.notBlank("text", text);
            batchSize = batchSize == null ? 16 : batchSize;
            Check.range("batch_size", batchSize, 1, 4096);
        }
    }

    /**
     * The bootstrap over prompts: each resample draws the prompt set with replacement and takes every drawn prompt's
     * images (and its reference images) along; every FID, CLIP score and ratio is recomputed on the same resamples,
     * and the interval is the replicates' central {@code level} spread around their median, placed around the
     * full-sample value ({@code PromptBootstrap.centred}).
     *
     * @param resamples replicates (0 = no intervals)
     * @param seed the resampling seed (same seed, same intervals)
     * @param level the interval's coverage, e.g. 0.9 for the spread of the 5th..95th percentiles
     */
    public record BootstrapConfig(int resamples, long seed, double level) {
        public BootstrapConfig {
            Check.range("resamples", resamples, 0, 100_000);
            if (!(level > 0 && level < 1)) {
                throw new ConfigException("level", "must be in (0, 1), e.g. 0.9 for a 90% interval, got " + level);
            }
        }

        public static BootstrapConfig defaults() {
            return new BootstrapConfig(200, 0, 0.9);
        }
    }

    /**
     * One sampler setting, or a family of them: a list of {@code steps} and/or {@code guidance} values expands into
     * one setting per combination, named {@code <name>-g<guidance>} and then {@code -<steps>steps} for each listed
     * dimension with more than one value. A family (one guidance value) is one line of the FID-vs-steps plot.
     *
     * @param name the setting's (or family's) name: letters, digits, '.', '_', '-'
     * @param model the model it samples with (may be left out when the config has one model)
     * @param scheduler lcm, ddim, euler or tcd ({@link SchedulerKind})
     * @param steps denoising steps (one or more)
     * @param guidance classifier-free guidance scales; default 1.0 for lcm (no CFG), 5.0 for ddim (diffusers' SDXL
     *     default)
     * @param adapters names of the adapters active in this setting (default none: the base model)
     * @param timesteps custom LCM/TCD timesteps (strictly decreasing, one per step; only with a single steps value)
     * @param spacing DDIM/Euler timestep spacing (leading, trailing, linspace); null = the model's scheduler config
     * @param eta TCD's gamma (default 0.3) or DDIM's eta (default 0); null = the default
     */
    public record SettingSpec(String name, @Nullable String model, SchedulerKind scheduler, List<Integer> steps,
            List<Double> guidance, List<String> adapters, @Nullable List<Long> timesteps, @Nullable TimestepSpacing spacing,
            @Nullable Double eta) {
        public SettingSpec {
            Check.name("name", name);
            if (scheduler == null) {
                throw new ConfigException("scheduler", "is required: one of " + ConfigBinder.enumValues(SchedulerKind.class));
            }
            if (steps == null || steps.isEmpty()) {
                throw new ConfigException("steps", "is required: one step count or a list of them");
            }
            for (int s : steps) {
                Check.range("steps", s, 1, 1000);
            }
            steps = List.copyOf(steps);
            double defaultGuidance = switch (scheduler) {
                case LCM, TCD, EULER -> 1.0;
                case DDIM -> 5.0;
            };
            guidance = guidance == null || guidance.isEmpty() ? List.of(defaultGuidance) : List.copyOf(guidance);
            for (double g : guidance) {
                Check.closed("guidance", g, 0, 100);
            }
            adapters = Check.strings("adapters", adapters == null ? List.of() : adapters, true);
            if (new HashSet<>(adapters).size() != adapters.size()) {
                throw new ConfigException("adapters", "names an adapter twice: " + adapters);
            }
            if (timesteps != null) {
                if (scheduler != SchedulerKind.LCM && scheduler != SchedulerKind.TCD) {
                    throw new ConfigException("timesteps", "custom timesteps are an LCM/TCD option; remove them for "
                            + scheduler.name().toLowerCase(Locale.ROOT));
                }
                if (steps.size() != 1 || steps.get(0) != timesteps.size()) {
                    throw new ConfigException("timesteps", "lists " + timesteps.size() + " timesteps; give exactly one "
                            + "steps value equal to that count");
                }
                for (int i = 0; i < timesteps.size(); i++) {
                    Check.range("timesteps", timesteps.get(i), 0, 999);
                    if (i > 0 && timesteps.get(i) >= timesteps.get(i - 1)) {
                        throw new ConfigException("timesteps", "must be strictly decreasing, got " + timesteps);
                    }
                }
                timesteps = List.copyOf(timesteps);
            }
            for (int s : steps) {
                try {
                    sampler(scheduler, s, timesteps, spacing, eta);
                } catch (SamplerOptions.InvalidOption e) {
                    throw new ConfigException(e.option(), e.getMessage());
                }
            }
        }

        /** The sampler of the expanded setting with {@code steps} steps. */
        public SamplerOptions sampler(int steps) {
            return sampler(scheduler, steps, timesteps, spacing, eta);
        }

        private static SamplerOptions sampler(SchedulerKind k, int steps, List<Long> ts, TimestepSpacing spacing, Double eta) {
            return new SamplerOptions(k, steps, ts == null ? null : ts.stream().mapToLong(Long::longValue).toArray(), spacing, eta);
        }

        /** The family of one guidance value: the name, plus {@code -g<guidance>} when several are listed. */
        public String family(double g) {
            return guidance.size() > 1 ? name + "-g" + number(g) : name;
        }

        /** The setting of one (steps, guidance): its family, plus {@code -<steps>steps} when several are listed. */
        public String expandedName(int s, double g) {
            return steps.size() > 1 ? family(g) + "-" + s + "steps" : family(g);
        }
    }

    public EvalConfig {
        models = List.copyOf(models);
        adapters = List.copyOf(adapters);
        seeds = List.copyOf(seeds);
        settings = List.copyOf(settings);
        Check.range("images_per_prompt", imagesPerPrompt, 1, 100_000);
        Check.range("width", width, 8, 16384);
        Check.range("height", height, 8, 16384);
        Check.range("batch_size", batchSize, 1, 1024);
        Check.notBlank("device", device);
        try {
            DeviceSpec.parse(device);
        } catch (IllegalArgumentException e) {
            throw new ConfigException("device", e.getMessage());
        }
        if (precision == null) {
            throw new ConfigException("precision", "must be one of " + ConfigBinder.enumValues(Precision.class));
        }
        if (features == null) {
            throw new ConfigException("features", "must be given");
        }
        Check.notBlank("output_dir", outputDir);
        Check.range("grid_prompts", gridPrompts, 1, 1024);
        if (bootstrap == null) {
            throw new ConfigException("bootstrap", "must be given");
        }
        if (colourBins != null && colourBins != 0 && (colourBins < 2 || colourBins > 16)) {
            throw new ConfigException("colour_bins", "must be 0 (no colour column) or 2..16 CIELAB histogram bins per "
                    + "channel (leave it out for 5 whenever the prompts name their own references), got " + colourBins);
        }
    }

    /** Defaults for every key a config leaves out; models, prompts and settings must be given. */
    public static EvalConfig defaults() {
        return new EvalConfig(List.of(), List.of(), null, List.of(0L), 1, 1024, 1024, 1, null, "cpu", Precision.FP32,
                FeaturesConfig.defaults(), null, List.of(), "runs/eval", 8, null,
                BootstrapConfig.defaults(), null);
    }

    /** Reads a sweep config file with {@code key=value} overrides (see {@link YamlConfig}). */
    public static EvalConfig load(Path file, List<String> overrides) throws IOException {
        return YamlConfig.load(EvalConfig.class, defaults(), file, overrides);
    }

    public static EvalConfig parse(String yaml) {
        return YamlConfig.parse(EvalConfig.class, defaults(), yaml, List.of());
    }

    /** This config with other adapters and settings, every other field kept (validated like any config). */
    public EvalConfig withAdaptersAndSettings(List<AdapterSpec> adapters, List<SettingSpec> settings) {
        return new EvalConfig(models, adapters, prompts, seeds, imagesPerPrompt, width, height, batchSize,
                negativePrompt, device, precision, features, referenceStats, settings, outputDir, gridPrompts,
                clipScore, bootstrap, colourBins);
    }

    /** The resolved config as YAML. */
    public String toYaml() {
        return YamlConfig.toYaml(this);
    }

    /** Fails with the first problem that stops the sweep (missing sections, dangling names, overlapping seeds). */
    public EvalConfig requireRunnable() {
        if (models.isEmpty()) {
            throw new ConfigException("models", "must list at least one model ({name, path})");
        }
        if (prompts == null || prompts.isBlank()) {
            throw new ConfigException("prompts", "must name the JSONL prompt file");
        }
        if (seeds.isEmpty()) {
            throw new ConfigException("seeds", "must list at least one seed");
        }
        if (settings.isEmpty()) {
            throw new ConfigException("settings", "must list at least one sampler setting");
        }
        unique("models", models.stream().map(ModelSpec::name).toList());
        unique("adapters", adapters.stream().map(AdapterSpec::name).toList());
        List<Long> sorted = seeds.stream().sorted().toList();
        for (int i = 1; i < sorted.size(); i++) {
            if (sorted.get(i) - sorted.get(i - 1) < imagesPerPrompt) {
                throw new ConfigException("seeds", "base seeds " + sorted.get(i - 1) + " and " + sorted.get(i)
                        + " are closer than images_per_prompt (" + imagesPerPrompt + "): their images would share seeds");
            }
        }
        for (int i = 0; i < settings.size(); i++) {
            SettingSpec s = settings.get(i);
            String at = "settings[" + i + "]";
            if (s.model() == null && models.size() > 1) {
                throw new ConfigException(at + ".model", "must name one of the models " + modelNames()
                        + " (there are several)");
            }
            if (s.model() != null && models.stream().noneMatch(m -> m.name().equals(s.model()))) {
                throw new ConfigException(at + ".model", "unknown model '" + s.model() + "'; the models are "
                        + modelNames());
            }
            for (String a : s.adapters()) {
                if (adapters.stream().noneMatch(x -> x.name().equals(a))) {
                    throw new ConfigException(at + ".adapters", "unknown adapter '" + a + "'; the adapters are "
                            + adapters.stream().map(AdapterSpec::name).toList());
                }
            }
        }
        Set<String> names = new HashSet<>();
        for (SettingSpec s : settings) {
            for (double g : s.guidance()) {
                for (int n : s.steps()) {
                    if (!names.add(s.expandedName(n, g))) {
                        throw new ConfigException("settings", "two settings are both named '" + s.expandedName(n, g)
                                + "' (after expanding steps/guidance lists)");
                    }
                }
            }
        }
        return this;
    }

    /** The model a setting samples with. */
    public ModelSpec model(SettingSpec s) {
        return s.model() == null ? models.get(0)
                : models.stream().filter(m -> m.name().equals(s.model())).findFirst().orElseThrow(
                        () -> new ConfigException("settings", "unknown model '" + s.model() + "'"));
    }

    /** The adapter of a name. */
    public AdapterSpec adapter(String name) {
        return adapters.stream().filter(a -> a.name().equals(name)).findFirst().orElseThrow(
                () -> new ConfigException("adapters", "unknown adapter '" + name + "'"));
    }

    /** The reference stats file (see {@link #referenceStats}). */
    public Path referenceStatsPath() {
        return referenceStats != null ? Path.of(referenceStats) : Path.of(outputDir, "reference_stats.safetensors");
    }

    /** A double as written in names and tables: without a trailing ".0" (1.0 -> "1", 7.5 -> "7.5"). */
    public static String number(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            return Long.toString((long) v);
        }
        return String.format(Locale.ROOT, "%s", v);
    }

    /** The lower-case name of a scheduler, as in the YAML. */
    public static String schedulerName(SchedulerKind s) {
        return s.name().toLowerCase(Locale.ROOT);
    }

    private List<String> modelNames() {
        return models.stream().map(ModelSpec::name).toList();
    }

    private static void unique(String key, List<String> names) {
        Set<String> seen = new HashSet<>();
        for (String n : names) {
            if (!seen.add(n)) {
                throw new ConfigException(key, "name '" + n + "' is used twice");
            }
        }
    }
}
