package io.lcmlora.pipeline;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import io.lcmlora.sgm.SgmUnetNames;
import io.lcmlora.lora.Adapters;
import io.lcmlora.lora.LoraComponent;
import io.lcmlora.lora.LoraFile;
import io.lcmlora.lora.LoraKeyMap;
import io.lcmlora.lora.LoraWeights;
import io.lcmlora.model.clip.CLIPTextModel;
import io.lcmlora.model.clip.CLIPTextModelWithProjection;
import io.lcmlora.model.clip.SdxlPromptEmbeds;
import io.lcmlora.model.clip.SdxlPromptEncoder;
import io.lcmlora.model.clip.SdxlTimeIds;
import io.lcmlora.model.unet.UNet2DConditionConfig;
import io.lcmlora.model.unet.UNet2DConditionModel;
import io.lcmlora.model.vae.AutoencoderKL;
import io.lcmlora.model.vae.DiagonalGaussianDistribution;
import io.lcmlora.nn.AdaptableLayer;
import io.lcmlora.nn.KeyValueMemo;
import io.lcmlora.nn.Ops;
import io.lcmlora.nn.Weights;
import io.lcmlora.schedule.GuidanceEmbedding;
import io.lcmlora.schedule.NoiseSchedule;
import io.lcmlora.schedule.Sampler;
import io.lcmlora.schedule.SamplerOptions;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * diffusers' {@code StableDiffusionXLPipeline} / {@code StableDiffusionXLImg2ImgPipeline} (v0.25.1) on an
 * {@link SdxlModel}, with LoRA adapters on the UNet.
 *
 * <p>One {@link #generate} call, numbered as the pipeline's {@code __call__}:
 * <ol>
 *   <li>encode the prompt ({@link SdxlPromptEncoder}); the negative branch only when g &gt; 1;</li>
 *   <li>timesteps ({@link DenoisingLoop} on the {@link Sampler} seam: LCM, DDIM, Euler or TCD with their options,
 *       custom timesteps, img2img strength);</li>
 *   <li>latents: text-to-image x_T ~ N(0, 1) * init_noise_sigma (1 except Euler); img2img
 *       the sampler's {@code add_noise(scaling_factor * vae.encode(image).sample(), noise, t_0)};</li>
 *   <li>SDXL micro-conditioning: time ids (original = target = output size, no crop), pooled text embeddings;
 *       a UNet with {@code time_cond_proj_dim} (full LCM-SDXL) also gets the (g - 1) guidance embedding;</li>
 *   <li>each step: the UNet on [uncond; cond] when g &gt; 1, {@code uncond + g * (cond - uncond)}, the
 *       scheduler step (LCM injects fresh seeded noise between steps);</li>
 *   <li>decode {@code latents / scaling_factor} with the VAE (in its placement dtype: float32 unless chosen
 *       otherwise), {@code round(clamp(x / 2 + 0.5, 0, 1) * 255)} to 8-bit RGB.</li>
 * </ol>
 *
 * <p>Guidance with LCM-LoRA: SDXL + LCM-LoRA runs in the plain {@code StableDiffusionXLPipeline} with
 * {@code LCMScheduler}, so guidance is the usual CFG above: g = 1 (or 0) is one conditional pass and the negative
 * prompt is not used; 1 &lt; g &lt;= 2 doubles the UNet batch and applies the negative prompt. (The LCM paper's
 * w-embedding conditioning applies only to a UNet distilled with {@code time_cond_proj_dim}.)
 *
 * <p>Determinism: all noise is drawn in Java from the per-image seed ({@link GaussianNoise}); image k of a
 * request uses seed + k, and the same seed gives the same pixels on the same engine and device.
 */
public final class SdxlPipeline implements AutoCloseable {
    private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().create();

    private final SdxlModel model;
    private final NoiseSchedule schedule;
    private final Adapters unetAdapters;
    private final Adapters te1Adapters;
    private final Adapters te2Adapters;
    private final NDManager loraManager;
    private final List<Map<String, Object>> loadedLoras = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();
    private Progress progress = Progress.none();
    private boolean strict;

    public SdxlPipeline(SdxlModel model) {
        this.model = model;
        this.schedule = NoiseSchedule.of(model.schedulerConfig());
        this.unetAdapters = new Adapters(LoraComponent.UNET, model.unet().layers());
        this.te1Adapters = new Adapters(LoraComponent.TEXT_ENCODER, model.textEncoder().layers());
        this.te2Adapters = new Adapters(LoraComponent.TEXT_ENCODER_2, model.textEncoder2().layers());
        this.loraManager = NDManager.newBaseManager(model.placement().unet().device());
    }

    /**
     * Detaches every adapter (unfusing first, so the model's original weights are back) and frees their weights;
     * the model stays open: it belongs to the caller.
     */
    @Override
    public void close() {
        for (Adapters a : List.of(unetAdapters, te1Adapters, te2Adapters)) {
            if (!a.fused().isEmpty()) {
                a.unfuse();
            }
            for (String name : List.copyOf(a.names())) {
                a.remove(name);
            }
        }
        loraManager.close();
    }

    public SdxlModel model() {
        return model;
    }

    /** {@code --strict}: refuse LoRA files with keys that are not adapter tensors (default: skip and count them). */
    public SdxlPipeline strict(boolean on) {
        this.strict = on;
        return this;
    }

    public SdxlPipeline progress(Progress p) {
        this.progress = p;
        return this;
    }

    /** Messages about what was skipped while loading adapters. */
    public List<String> notes() {
        return List.copyOf(notes);
    }

    public Adapters unetAdapters() {
        return unetAdapters;
    }

    /**
     * Loads a LoRA as adapter {@link LoraSpec#name()} with its weight onto the UNet and, for the modules the file
     * has, both text encoders (several adapters add up: the paper's LCM-LoRA 1.0 + style 0.8). Returns the
     * adapter's name (the file's, with {@code _2}, {@code _3}... when that name is taken).
     */
    public String loadLora(LoraSpec spec) throws IOException {
        UNet2DConditionModel unet = model.unet();
        Map<LoraComponent, List<String>> names = new EnumMap<>(LoraComponent.class);
        names.put(LoraComponent.UNET, List.copyOf(unet.layers().keySet()));
        names.put(LoraComponent.TEXT_ENCODER, List.copyOf(model.textEncoder().layers().keySet()));
        names.put(LoraComponent.TEXT_ENCODER_2, List.copyOf(model.textEncoder2().layers().keySet()));
        LoraKeyMap keys = LoraKeyMap.of(names, SgmUnetNames.of(unet.config()));
        LoraWeights w = LoraFile.load(spec.file(), keys, loraManager, model.placement().unet().dtype(), strict);
        if (!w.skipped().isEmpty()) {
            notes.add(spec.file().getFileName() + ": skipped " + w.skipped().values().stream().mapToInt(Integer::intValue).sum()
                    + " non-adapter key(s) " + w.skipped() + " (--strict refuses them)");
        }
        String name = uniqueName(spec.name());
        int modules = 0;
        for (Adapters a : List.of(unetAdapters, te1Adapters, te2Adapters)) {
            if (!w.of(a.component()).isEmpty()) {
                a.load(w, name, spec.weight());
                modules += a.adapter(name).size();
            }
        }
        Map<String, Object> info = new LinkedHashMap<>();
        info.put("name", name);
        info.put("file", spec.file().getFileName().toString());
        info.put("weight", spec.weight());
        info.put("modules", modules);
        if (!w.skipped().isEmpty()) {
            info.put("skipped_keys", w.skipped());
        }
        loadedLoras.add(info);
        return name;
    }

    /**
     * diffusers' {@code set_adapters(names, adapter_weights)}: exactly the named adapters run, at these weights, on
     * every component (UNet, text encoders) that has them; the other loaded adapters stay loaded but off. An empty
     * map is the base model. Fused adapters stay in the weights (unfuse first to switch them).
     */
    public void setAdapters(Map<String, Double> weights) {
        for (String n : weights.keySet()) {
            if (!isLoaded(n)) {
                throw new IllegalArgumentException("no adapter '" + n + "' is loaded; loaded: "
                        + loadedLoras.stream().map(l -> l.get("name")).toList());
            }
        }
        for (Adapters a : List.of(unetAdapters, te1Adapters, te2Adapters)) {
            Map<String, Double> here = new LinkedHashMap<>();
            weights.forEach((n, w) -> {
                if (a.names().contains(n)) {
                    here.put(n, w);
                }
            });
            a.setActive(here.keySet());
            a.setAdapterWeights(here);
        }
    }

    /** The loaded adapters that run (active or fused in some component), each with the weight it runs at. */
    private List<Map<String, Object>> runningLoras() {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Map<String, Object> info : loadedLoras) {
            String n = (String) info.get("name");
            for (Adapters a : List.of(unetAdapters, te1Adapters, te2Adapters)) {
                if (a.active().contains(n) || a.fused().contains(n)) {
                    Map<String, Object> running = new LinkedHashMap<>(info);
                    running.put("weight", a.weight(n));
                    out.add(running);
                    break;
                }
            }
        }
        return out;
    }

    private boolean isLoaded(String name) {
        return loadedLoras.stream().anyMatch(l -> name.equals(l.get("name")));
    }

    private String uniqueName(String base) {
        String n = base;
        for (int i = 2; isLoaded(n); i++) {
            n = base + "_" + i;
        }
        return n;
    }

    /** Fuses every loaded adapter into the model weights (faster steps; {@link Adapters#unfuse()} restores them). */
    public void fuseLoras() {
        for (Adapters a : List.of(unetAdapters, te1Adapters, te2Adapters)) {
            if (!a.active().isEmpty()) {
                a.fuse();
            }
        }
    }

    /** Runs one request: {@code imagesPerPrompt} images, image k from seed + k. */
    public List<GeneratedImage> generate(GenerationRequest r) {
        return generate(List.of(r));
    }

    /**
     * Runs several requests as one batched denoising loop (several prompts, each with its own seeds): the images of
     * request 0, then of request 1, ..., each as {@link #generate(GenerationRequest)} would give it alone (noise is
     * drawn per image seed and each prompt is encoded on its own; only the UNet/VAE batch grows). The requests may
     * differ in prompt, negative prompt, seed and image count only; text-to-image only when there are several.
     */
    public List<GeneratedImage> generate(List<GenerationRequest> requests) {
        if (requests.isEmpty()) {
            throw new IllegalArgumentException("no requests to generate");
        }
        GenerationRequest r = requests.get(0);
        for (GenerationRequest o : requests.subList(1, requests.size())) {
            checkBatchable(r, o);
        }
        UNet2DConditionModel unet = model.unet();
        AutoencoderKL vae = model.vae();
        int scale = model.vaeScaleFactor();
        int width = r.width() > 0 ? r.width() : r.initImage() != null ? r.initImage().getWidth() / scale * scale
                : unet.config().sampleSize() * scale;
        int height = r.height() > 0 ? r.height() : r.width() > 0 ? r.width() : r.initImage() != null
                ? r.initImage().getHeight() / scale * scale : unet.config().sampleSize() * scale;
        if (width % scale != 0 || height % scale != 0 || width == 0 || height == 0) {
            throw new IllegalArgumentException("width and height must be positive multiples of " + scale
                    + " (the VAE's downscale), got " + width + "x" + height);
        }
        int n = 0;
        for (GenerationRequest q : requests) {
            n += q.imagesPerPrompt();
        }
        long[] seeds = new long[n];
        GenerationRequest[] owner = new GenerationRequest[n];
        int[] index = new int[n];
        int at = 0;
        for (GenerationRequest q : requests) {
            for (int k = 0; k < q.imagesPerPrompt(); k++, at++) {
                seeds[at] = q.seed() + k;
                owner[at] = q;
                index[at] = k;
            }
        }
        boolean cfg = r.classifierFreeGuidance();
        DenoisingLoop loop = DenoisingLoop.create(schedule, r.sampler(), r.initImage() != null, r.strength());
        Sampler sampler = loop.sampler();
        double[] ts = loop.timesteps();
        Shape latentShape = new Shape(unet.config().inChannels(), height / scale, width / scale);
        Device unetDevice = model.placement().unet().device();

        try (NDManager m = NDManager.newBaseManager(unetDevice)) {
            // 1. prompt embeddings: [uncond; cond] when g > 1
            NDArray[] embeds = encodePrompts(m, requests);
            NDArray context = embeds[0];
            NDArray textEmbeds = embeds[1];
            int rows = cfg ? 2 * n : n;
            NDArray timeIds = SdxlTimeIds.forImage(height, width).toArray(m, rows);
            NDArray timestepCond = guidanceCondition(m, unet.config(), r.guidanceScale(), rows);

            // 3. initial latents (float32 on the UNet's device)
            NDArray latents;
            if (r.initImage() == null) {
                latents = GaussianNoise.batch(m, seeds, GaussianNoise.Purpose.LATENTS, 0, latentShape);
                if (sampler.initNoiseSigma() != 1f) {
                    latents = Ops.mulScalar(latents, sampler.initNoiseSigma());
                }
            } else {
                NDArray clean = encodeImage(m, r.initImage(), width, height, seeds);
                NDArray noise = GaussianNoise.batch(m, seeds, GaussianNoise.Purpose.IMG2IMG, 0, latentShape);
                latents = sampler.addNoise(clean, noise, 0);
            }

            // 5. the loop; every step's cross-attentions reuse the keys and values of the fixed text context
            double g = r.guidanceScale();
            NDArray finalLatents;
            try (KeyValueMemo kv = unet.memoizeContext(context)) {
                DenoisingLoop.Denoiser denoiser = (x, t) -> {
                    NDArray in = cfg ? NDArrays.concat(new NDList(x, x)) : x;
                    NDArray out = unet.forward(new UNet2DConditionModel.Inputs(in, new double[] {t}, context, textEmbeds,
                            timeIds, timestepCond), kv);
                    if (out.getDataType() != DataType.FLOAT32) {
                        out = out.toType(DataType.FLOAT32, false);
                    }
                    if (!cfg) {
                        return out;
                    }
                    NDList halves = out.split(2, 0); // [2n, C, h, w] -> uncond, cond
                    NDArray uncond = halves.get(0);
                    return uncond.add(Ops.mulScalar(halves.get(1).sub(uncond), g));
                };
                DenoisingLoop.NoiseSource stepNoise = (i, like) -> GaussianNoise.batch(like.getManager(), seeds,
                        GaussianNoise.Purpose.STEP, i, latentShape);
                finalLatents = loop.run(latents, denoiser, stepNoise, progress,
                        r.sampler().kind().cliName() + " seed " + r.seed());
            }

            // 6. decode
            float[] pixels = decode(finalLatents, vae);
            List<GeneratedImage> out = new ArrayList<>();
            int plane = 3 * width * height;
            for (int k = 0; k < n; k++) {
                BufferedImage img = PngImages.fromUnitRange(pixels, k * plane, width, height);
                out.add(new GeneratedImage(img, seeds[k], index[k], parameters(owner[k], seeds[k], width, height, sampler)));
            }
            return out;
        }
    }

    /**
     * [context, pooled] on {@code m} (the UNet's device), encoded on the text encoders' device, one prompt at a
     * time (so a prompt's embedding does not depend on its batch): rows [uncond of every request; cond of every
     * request] when g &gt; 1, each request repeated for its images.
     */
    private NDArray[] encodePrompts(NDManager m, List<GenerationRequest> requests) {
        boolean cfg = requests.get(0).classifierFreeGuidance();
        try (NDManager tm = NDManager.newBaseManager(model.placement().textEncoders().device())) {
            NDList context = new NDList();
            NDList pooled = new NDList();
            NDList negContext = new NDList();
            NDList negPooled = new NDList();
            for (GenerationRequest r : requests) {
                SdxlPromptEncoder.Prompts prompts = new SdxlPromptEncoder.Prompts(List.of(r.prompt()), null,
                        cfg && r.negativePrompt() != null ? List.of(r.negativePrompt()) : null, null);
                SdxlPromptEmbeds e = model.promptEncoder().encode(tm, model.tokenizer()::encode,
                        model.tokenizer2()::encode, prompts, new SdxlPromptEncoder.Options(cfg, null, r.imagesPerPrompt()));
                context.add(e.promptEmbeds());
                pooled.add(e.pooledPromptEmbeds());
                if (cfg) {
                    negContext.add(e.negativePromptEmbeds());
                    negPooled.add(e.negativePooledPromptEmbeds());
                }
            }
            if (cfg) {
                negContext.addAll(context);
                negPooled.addAll(pooled);
                context = negContext;
                pooled = negPooled;
            }
            NDArray c = context.size() == 1 ? context.get(0) : NDArrays.concat(context);
            NDArray p = pooled.size() == 1 ? pooled.get(0) : NDArrays.concat(pooled);
            return new NDArray[] {onto(c, m), onto(p, m)};
        }
    }

    /** Requests batched together must share every setting but prompt, negative prompt, seed and image count. */
    private static void checkBatchable(GenerationRequest a, GenerationRequest b) {
        SamplerOptions x = a.sampler();
        SamplerOptions y = b.sampler();
        boolean sameSampler = x.kind() == y.kind() && x.steps() == y.steps() && Arrays.equals(x.timesteps(), y.timesteps())
                && Objects.equals(x.spacing(), y.spacing()) && Objects.equals(x.eta(), y.eta());
        if (!sameSampler || a.guidanceScale() != b.guidanceScale() || a.width() != b.width() || a.height() != b.height()
                || a.initImage() != null || b.initImage() != null) {
            throw new IllegalArgumentException("requests batched in one call must share sampler, guidance and size and be"
                    + " text-to-image; got " + describe(a) + " and " + describe(b) + " (generate them in separate calls)");
        }
    }

    private static String describe(GenerationRequest r) {
        return r.sampler().kind().cliName() + " " + r.sampler().steps() + " steps, g " + r.guidanceScale() + ", "
                + r.width() + "x" + r.height() + (r.initImage() != null ? ", img2img" : "");
    }

    /** The (g - 1) guidance embedding for a UNet with time_cond_proj_dim (null otherwise). */
    private static NDArray guidanceCondition(NDManager m, UNet2DConditionConfig c, double g, int rows) {
        if (c.timeCondProjDim() <= 0) {
            return null;
        }
        float[] w = new float[rows];
        Arrays.fill(w, (float) (g - 1));
        return GuidanceEmbedding.embed(m, w, c.timeCondProjDim());
    }

    /** The image as scaled latents [n, C, h, w] on {@code m}: one encode, one seeded draw per image. */
    private NDArray encodeImage(NDManager m, BufferedImage image, int width, int height, long[] seeds) {
        AutoencoderKL vae = model.vae();
        LoadOptions.Placement p = model.placement().vae();
        try (NDManager vm = NDManager.newBaseManager(p.device())) {
            NDArray x = vm.create(PngImages.toUnitRange(image, width, height), new Shape(1, 3, height, width));
            if (p.dtype() != DataType.FLOAT32) {
                x = x.toType(p.dtype(), false);
            }
            DiagonalGaussianDistribution dist = vae.encode(x);
            Shape perImage = new Shape(Arrays.copyOfRange(dist.mean().getShape().getShape(), 1, 4));
            NDArray mean = dist.mean().toType(DataType.FLOAT32, false).repeat(0, seeds.length);
            NDArray std = dist.std().toType(DataType.FLOAT32, false).repeat(0, seeds.length);
            NDArray eps = GaussianNoise.batch(vm, seeds, GaussianNoise.Purpose.VAE, 0, perImage);
            NDArray z = Ops.mulScalar(mean.add(std.mul(eps)), vae.config().scalingFactor());
            return onto(z, m);
        }
    }

    /** latents / scaling_factor through the VAE -> float32 CHW pixels in [-1, 1] (host). */
    private float[] decode(NDArray latents, AutoencoderKL vae) {
        LoadOptions.Placement p = model.placement().vae();
        try (NDManager vm = NDManager.newBaseManager(p.device())) {
            NDArray z = Ops.mulScalar(latents, 1.0 / vae.config().scalingFactor());
            z = z.getDevice().equals(p.device()) ? z : z.toDevice(p.device(), false);
            z.attach(vm);
            if (p.dtype() != DataType.FLOAT32) {
                z = z.toType(p.dtype(), false);
            }
            NDArray image = vae.decode(z);
            return image.toType(DataType.FLOAT32, false).toFloatArray();
        }
    }

    /** {@code x} on {@code m}'s device, attached to {@code m}. */
    private static NDArray onto(NDArray x, NDManager m) {
        NDArray y = x.getDevice().equals(m.getDevice()) ? x : x.toDevice(m.getDevice(), false);
        y.attach(m);
        return y;
    }

    /** Timesteps as integers when they all are (LCM, DDIM, TCD, Euler leading/trailing). */
    private static Object integral(double[] ts) {
        long[] r = new long[ts.length];
        for (int i = 0; i < ts.length; i++) {
            if (ts[i] != Math.rint(ts[i])) {
                return ts;
            }
            r[i] = (long) ts[i];
        }
        return r;
    }

    /** The settings as ASCII JSON (non-ASCII characters as \\uXXXX, so they fit a PNG tEXt chunk). */
    private String parameters(GenerationRequest r, long seed, int width, int height, Sampler sampler) {
        double[] ts = sampler.timesteps();
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("prompt", r.prompt());
        p.put("negative_prompt", r.classifierFreeGuidance() ? r.negativePrompt() : null);
        p.put("seed", seed);
        p.put("steps", ts.length);
        p.put("timesteps", integral(ts));
        p.put("guidance_scale", r.guidanceScale());
        p.putAll(sampler.describe());
        p.put("width", width);
        p.put("height", height);
        if (r.initImage() != null) {
            p.put("strength", r.strength());
        }
        p.put("model", model.source());
        p.put("adapters", runningLoras());
        p.put("fused", !unetAdapters.fused().isEmpty());
        p.put("noise", "java SplittableRandom Box-Muller, image seed = seed + index");
        p.put("generator", "lcm-lora-java");
        String json = GSON.toJson(p);
        StringBuilder ascii = new StringBuilder(json.length());
        for (char c : json.toCharArray()) {
            if (c < 0x80) {
                ascii.append(c);
            } else {
                ascii.append(String.format("\\u%04x", (int) c));
            }
        }
        return ascii.toString();
    }
}
