package io.lcmlora.train.pretrain;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonObject;
import io.lcmlora.io.ModelWeights;
import io.lcmlora.singlefile.BundledScheduler;
import io.lcmlora.model.clip.SdxlPromptEmbeds;
import io.lcmlora.model.clip.SdxlPromptEncoder;
import io.lcmlora.model.clip.SdxlTimeIds;
import io.lcmlora.model.unet.UNet2DConditionConfig;
import io.lcmlora.model.unet.UNet2DConditionModel;
import io.lcmlora.model.vae.AutoencoderKL;
import io.lcmlora.model.vae.DiagonalGaussianDistribution;
import io.lcmlora.nn.Weights;
import io.lcmlora.schedule.NoiseSchedule;
import io.lcmlora.text.ClipTokenizer;
import io.lcmlora.train.config.RecordYaml;
import io.lcmlora.train.loop.Rng;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The {@code unet} and {@code finetune} stages: epsilon-prediction DDPM training of an SDXL-shaped
 * {@link UNet2DConditionModel} on the VAE latents of one style's train split, under SDXL's noise schedule
 * (scaled_linear 0.00085..0.012, 1000 steps; t uniform). Latent moments and caption embeddings are computed once;
 * each step samples z = (mean + std * e) * scaling_factor, noise and t, and replaces {@code cfg_dropout} of the
 * captions by the all-zero prompt and pooled embeddings: exactly the unconditional input the SDXL pipeline feeds
 * (model_index {@code force_zeros_for_empty_prompt}: no negative prompt gives zeros), so classifier-free guidance
 * at sampling time asks the model what it learned. Micro-conditioning is SDXL's time ids of an uncropped image,
 * (S, S, 0, 0, S, S). {@code unet} starts from torch's default initialisation; {@code finetune} continues the UNet of
 * {@code base}. Writes a complete diffusers SDXL folder (the VAE and text parts copied from {@code base}), with the
 * resolved config, metrics and a DDIM preview grid of held-out captions beside it.
 */
final class UnetTrainer {
    private UnetTrainer() {}

    /** What the stage measured. */
    record Result(int images, long parameters, double lastLoss, double seconds, double previewSeconds) {}

    /** The latent posterior of every image and the caption embeddings, host-side, row-major. */
    record Cache(float[] mean, float[] std, long[] latentShape, float[] context, long[] contextShape, float[] pooled,
            long[] pooledShape) {
        int count() {
            return (int) latentShape[0];
        }
    }

    /** SDXL's block layout at the configured widths: DownBlock2D first, cross-attention levels after it. */
    static UNet2DConditionConfig modelConfig(PretrainConfig.Unet u, int sampleSize, int latentChannels, int contextDim,
            int pooledDim) {
        int n = u.blockOutChannels().size();
        List<String> down = new ArrayList<>();
        List<String> up = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            down.add(i == 0 ? "DownBlock2D" : "CrossAttnDownBlock2D");
            up.add(i == n - 1 ? "UpBlock2D" : "CrossAttnUpBlock2D");
        }
        int[] ctx = new int[n];
        int[] lpb = new int[n];
        Arrays.fill(ctx, contextDim);
        Arrays.fill(lpb, u.layersPerBlock());
        return new UNet2DConditionConfig(sampleSize, latentChannels, latentChannels, true, 0, down, "UNetMidBlock2DCrossAttn",
                up, ints(u.blockOutChannels()), lpb, 1, u.normNumGroups(), 1e-5, ctx, ints(u.transformerLayersPerBlock()),
                ints(u.attentionHeads()), true, "text_time", u.additionTimeEmbedDim(), pooledDim + 6 * u.additionTimeEmbedDim(),
                0, 3, 3, 0);
    }

    static Result train(PretrainConfig c, Consumer<String> log) throws IOException {
        Path base = Path.of(c.base());
        Path out = Path.of(c.outputDir());
        PretrainConfig.Training t = c.train();
        try (NDManager m = NDManager.newBaseManager()) {
            AutoencoderKL vae = AutoencoderKL.load(base, m, DataType.FLOAT32);
            SdxlPromptEncoder encoder = SdxlPromptEncoder.load(base, m, DataType.FLOAT32, null, true);
            ClipTokenizer tok1 = ClipTokenizer.load(base.resolve("tokenizer"));
            ClipTokenizer tok2 = ClipTokenizer.load(base.resolve("tokenizer_2"));
            EmojiImages train = EmojiImages.load(Path.of(c.data()), c.style(), c.resolution(), "train");
            long tc = System.nanoTime();
            Cache cache = cache(vae, encoder, tok1, tok2, train, m);
            log.accept(String.format("%s: %d train images of %s, latents %s, context %s (cached in %.1f s)",
                    c.stage().name().toLowerCase(), train.count(), c.style(), Arrays.toString(cache.latentShape()),
                    Arrays.toString(cache.contextShape()), (System.nanoTime() - tc) / 1e9));

            UNet2DConditionConfig cfg;
            Map<String, NDArray> params;
            if (c.stage() == PretrainConfig.Stage.FINETUNE) {
                Path dir = base.resolve("unet");
                cfg = UNet2DConditionConfig.read(dir.resolve("config.json"));
                params = ModelWeights.load(dir, null, m, DataType.FLOAT32);
                params.values().forEach(p -> p.setRequiresGradient(true));
            } else {
                cfg = modelConfig(c.unet(), (int) cache.latentShape()[2], (int) cache.latentShape()[1],
                        (int) cache.contextShape()[2], (int) cache.pooledShape()[1]);
                UNet2DConditionConfig shape = cfg;
                params = ParamInit.torchDefault(m, ParamInit.shapes(vb -> new UNet2DConditionModel(vb, shape)),
                        Rng.stream(c.seed(), "unet-init"));
            }
            Weights vb = Weights.of(m, params, "<unet training>");
            UNet2DConditionModel unet = new UNet2DConditionModel(vb, cfg);
            vb.checkAllUsed(java.util.Set.of());
            log.accept(String.format("%s: UNet %s, %,d parameters; %d steps of batch %d, lr %.1e, cfg dropout %.2f",
                    c.stage().name().toLowerCase(), Arrays.toString(cfg.blockOutChannels()), unet.parameterCount(), t.steps(),
                    t.batchSize(), t.learningRate(), t.cfgDropout()));

            NoiseSchedule schedule = NoiseSchedule.of(BundledScheduler.sdxl());
            double sf = vae.config().scalingFactor();
            Map<String, NDArray> result;
            double lastLoss;
            double seconds;
            try (Optimization opt = new Optimization(params, t, log)) {
                Sampler sampler = new Sampler(cache, c.seed(), t.cfgDropout(), sf, schedule.numTrainTimesteps());
                SdxlTimeIds timeIds = SdxlTimeIds.forImage(c.resolution(), c.resolution());
                for (int k = 0; k < t.steps(); k++) {
                    Sampler.Batch b = sampler.next(t.batchSize());
                    opt.step(() -> epsilonLoss(unet, schedule, b, m, timeIds));
                }
                lastLoss = opt.lastMeanLoss();
                seconds = opt.seconds();
                result = VaeTrainer.copyOf(opt.result(), m);
            }

            Path tmp = DiffusersFolder.staging(out);
            DiffusersFolder.copyParts(base, tmp, DiffusersFolder.PARTS, VaeTrainer.dtype(t));
            DiffusersFolder.writeComponent(tmp.resolve("unet"), cfg.toJson(), DiffusersFolder.DIFFUSERS_WEIGHTS, result,
                    VaeTrainer.dtype(t));
            DiffusersFolder.writeModelIndex(tmp);
            double previewSeconds = 0;
            if (c.preview().images() > 0) {
                long tp = System.nanoTime();
                List<String> held = EmojiImages.captions(Path.of(c.data()), c.style(), c.resolution(), "heldout");
                int n = Math.min(c.preview().images(), held.size());
                List<String> prompts = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    prompts.add(held.get(i * held.size() / n)); // spread over the manifest's categories
                }
                DdimPreview.write(tmp, tmp.resolve("preview.png"), tmp.resolve("preview.txt"), prompts, c.preview());
                previewSeconds = (System.nanoTime() - tp) / 1e9;
                log.accept(String.format("%s: DDIM %d-step preview of %d held-out captions (guidance %.1f) in %.1f s",
                        c.stage().name().toLowerCase(), c.preview().steps(), prompts.size(), c.preview().guidanceScale(),
                        previewSeconds));
            }
            Result r = new Result(train.count(), unet.parameterCount(), lastLoss, seconds, previewSeconds);
            writeRunInfo(tmp, c, r);
            DiffusersFolder.publish(tmp, out);
            return r;
        }
    }

    /** mean((unet(x_t, t, c) - e)^2), x_t = add_noise(z0, e, t). */
    static NDArray epsilonLoss(UNet2DConditionModel unet, NoiseSchedule schedule, Sampler.Batch b, NDManager m,
            SdxlTimeIds timeIds) {
        int n = b.timesteps().length;
        NDArray z0 = m.create(b.latents(), new Shape(b.latentShape()));
        NDArray noise = m.create(b.noise(), new Shape(b.latentShape()));
        NDArray xt = schedule.addNoise(z0, noise, b.timesteps());
        double[] ts = Arrays.stream(b.timesteps()).asDoubleStream().toArray();
        NDArray context = m.create(b.context(), new Shape(b.contextShape()));
        NDArray pooled = m.create(b.pooled(), new Shape(b.pooledShape()));
        NDArray pred = unet.forward(new UNet2DConditionModel.Inputs(xt, ts, context, pooled, timeIds.toArray(m, n)));
        return pred.sub(noise).square().mean();
    }

    /** Encodes every image (posterior mean and std, unscaled) and caption (context, pooled) once, in batches. */
    static Cache cache(AutoencoderKL vae, SdxlPromptEncoder encoder, ClipTokenizer tok1, ClipTokenizer tok2,
            EmojiImages images, NDManager m) {
        int n = images.count();
        List<float[]> means = new ArrayList<>();
        List<float[]> stds = new ArrayList<>();
        List<float[]> contexts = new ArrayList<>();
        List<float[]> pooleds = new ArrayList<>();
        long[][] shapes = new long[3][]; // latents, context, pooled
        images.forEachBatch(m, 256, (from, x) -> {
            DiagonalGaussianDistribution q = vae.encode(x);
            means.add(q.mean().toFloatArray());
            stds.add(q.std().toFloatArray());
            int k = (int) x.getShape().get(0);
            SdxlPromptEmbeds e = encoder.encode(m, tok1::encode, tok2::encode,
                    new SdxlPromptEncoder.Prompts(images.captions().subList(from, from + k), null, null, null),
                    new SdxlPromptEncoder.Options(false, null, 1));
            contexts.add(e.promptEmbeds().toFloatArray());
            pooleds.add(e.pooledPromptEmbeds().toFloatArray());
            shapes[0] = q.mean().getShape().getShape();
            shapes[1] = e.promptEmbeds().getShape().getShape();
            shapes[2] = e.pooledPromptEmbeds().getShape().getShape();
            e.named().values().forEach(NDArray::close);
        });
        long[] latentShape = shapes[0];
        long[] contextShape = shapes[1];
        long[] pooledShape = shapes[2];
        latentShape[0] = n;
        contextShape[0] = n;
        pooledShape[0] = n;
        return new Cache(concat(means), concat(stds), latentShape, concat(contexts), contextShape, concat(pooleds), pooledShape);
    }

    private static float[] concat(List<float[]> parts) {
        int total = parts.stream().mapToInt(a -> a.length).sum();
        float[] out = new float[total];
        int pos = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, out, pos, p.length);
            pos += p.length;
        }
        return out;
    }

    private static int[] ints(List<Integer> v) {
        return v.stream().mapToInt(Integer::intValue).toArray();
    }

    private static void writeRunInfo(Path dir, PretrainConfig c, Result r) throws IOException {
        io.lcmlora.io.AtomicFiles.writeString(dir.resolve("pretrain.yaml"), RecordYaml.toYaml(c));
        JsonObject o = new JsonObject();
        o.addProperty("stage", c.stage().name().toLowerCase());
        o.addProperty("style", c.style());
        o.addProperty("train_images", r.images());
        o.addProperty("unet_parameters", r.parameters());
        o.addProperty("last_logged_loss", r.lastLoss());
        o.addProperty("train_seconds", r.seconds());
        o.addProperty("preview_seconds", r.previewSeconds());
        DiffusersFolder.writeJson(dir.resolve("metrics.json"), o);
    }

    /**
     * Draws the training batches from the cache: data order, latent sampling noise, diffusion noise, timesteps and
     * caption dropout each from their own seeded stream.
     */
    static final class Sampler {
        /** One batch, host-side. */
        record Batch(float[] latents, float[] noise, long[] latentShape, long[] timesteps, float[] context,
                long[] contextShape, float[] pooled, long[] pooledShape) {}

        private final Cache cache;
        private final Batches order;
        private final Rng latentNoise;
        private final Rng noise;
        private final Rng time;
        private final Rng dropout;
        private final double dropProbability;
        private final float scale;
        private final int trainTimesteps;

        Sampler(Cache cache, long seed, double dropProbability, double scalingFactor, int trainTimesteps) {
            this.cache = cache;
            this.order = new Batches(cache.count(), Rng.stream(seed, "unet-order"));
            this.latentNoise = Rng.stream(seed, "unet-latent-sample");
            this.noise = Rng.stream(seed, "unet-noise");
            this.time = Rng.stream(seed, "unet-timesteps");
            this.dropout = Rng.stream(seed, "unet-cfg-dropout");
            this.dropProbability = dropProbability;
            this.scale = (float) scalingFactor;
            this.trainTimesteps = trainTimesteps;
        }

        Batch next(int size) {
            int[] idx = order.next(size);
            int lat = (int) (cache.latentShape()[1] * cache.latentShape()[2] * cache.latentShape()[3]);
            float[] mean = Batches.gather(cache.mean(), lat, idx);
            float[] std = Batches.gather(cache.std(), lat, idx);
            float[] e = new float[mean.length];
            latentNoise.fillGaussian(e);
            for (int i = 0; i < mean.length; i++) {
                mean[i] = (mean[i] + std[i] * e[i]) * scale;
            }
            float[] eps = new float[mean.length];
            noise.fillGaussian(eps);
            long[] ts = new long[size];
            for (int i = 0; i < size; i++) {
                ts[i] = time.nextInt(trainTimesteps);
            }
            int ctxRow = (int) (cache.contextShape()[1] * cache.contextShape()[2]);
            int poolRow = (int) cache.pooledShape()[1];
            float[] ctx = Batches.gather(cache.context(), ctxRow, idx);
            float[] pooled = Batches.gather(cache.pooled(), poolRow, idx);
            for (int i = 0; i < size; i++) {
                if (dropout.nextDouble() < dropProbability) {
                    Arrays.fill(ctx, i * ctxRow, (i + 1) * ctxRow, 0f);
                    Arrays.fill(pooled, i * poolRow, (i + 1) * poolRow, 0f);
                }
            }
            long[] ls = cache.latentShape().clone();
            ls[0] = size;
            long[] cs = cache.contextShape().clone();
            cs[0] = size;
            return new Batch(mean, eps, ls, ts, ctx, cs, pooled, new long[] {size, poolRow});
        }
    }
}
