package io.lcmlora.train.pretrain;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonObject;
import io.lcmlora.io.DType;
import io.lcmlora.model.vae.AutoencoderKL;
import io.lcmlora.model.vae.AutoencoderKLConfig;
import io.lcmlora.model.vae.DiagonalGaussianDistribution;
import io.lcmlora.nn.NoGrad;
import io.lcmlora.nn.Ops;
import io.lcmlora.nn.Weights;
import io.lcmlora.train.loop.Rng;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The {@code vae} stage: an {@link AutoencoderKL} of the configured shape trained from scratch on the train split
 * of one style (reconstruction MSE + a small KL term), then its {@code scaling_factor} set to 1 / std of the
 * sampled latents of that split, as Stable Diffusion chose its 0.18215. Writes {@code <output_dir>/vae/}.
 */
final class VaeTrainer {
    private VaeTrainer() {}

    /** What the stage measured. */
    record Result(double trainMse, double heldoutMse, double heldoutPsnr, double scalingFactor, double seconds) {}

    static AutoencoderKLConfig modelConfig(PretrainConfig c) {
        PretrainConfig.Vae v = c.vae();
        return new AutoencoderKLConfig(3, 3, v.blockOutChannels(), v.layersPerBlock(), v.latentChannels(),
                v.normNumGroups(), c.resolution(), 1.0, false, true);
    }

    static Result train(PretrainConfig c, Consumer<String> log) throws IOException {
        Path data = Path.of(c.data());
        EmojiImages train = EmojiImages.load(data, c.style(), c.resolution(), "train");
        EmojiImages held = EmojiImages.load(data, c.style(), c.resolution(), "heldout");
        AutoencoderKLConfig cfg = modelConfig(c);
        int s = c.resolution();
        int row = 3 * s * s;
        PretrainConfig.Training t = c.train();
        log.accept(String.format("vae: %d train / %d held-out %dpx images of %s; blocks %s, latents %dx%dx%d", train.count(),
                held.count(), s, c.style(), cfg.blockOutChannels(), cfg.latentChannels(), s / cfg.downscale(), s / cfg.downscale()));
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> params = ParamInit.torchDefault(m,
                    ParamInit.shapes(vb -> new AutoencoderKL(vb, cfg)), Rng.stream(c.seed(), "vae-init"));
            AutoencoderKL vae = new AutoencoderKL(Weights.of(m, params, "<vae training>"), cfg);
            log.accept(String.format("vae: %,d parameters; %d steps of batch %d", params.values().stream()
                    .mapToLong(p -> p.getShape().size()).sum(), t.steps(), t.batchSize()));
            Batches batches = new Batches(train.count(), Rng.stream(c.seed(), "vae-order"));
            Rng noise = Rng.stream(c.seed(), "vae-noise");
            double trainMse;
            double seconds;
            Map<String, NDArray> result;
            try (Optimization opt = new Optimization(params, t, log)) {
                for (int k = 0; k < t.steps(); k++) {
                    int[] idx = batches.next(t.batchSize());
                    float[] x = Batches.gather(train.pixels(), row, idx);
                    opt.step(() -> loss(vae, m.create(x, new Shape(idx.length, 3, s, s)), noise, c.vae().klWeight()));
                }
                trainMse = opt.lastMeanLoss();
                result = copyOf(opt.result(), m);
                seconds = opt.seconds();
                log.accept(String.format("vae: trained in %.0f s", seconds));
            }
            AutoencoderKL trained = new AutoencoderKL(Weights.of(m, result, "<vae>"), cfg);
            double heldMse = reconstructionMse(trained, held, m);
            double sf = 1.0 / latentStd(trained, train, m, Rng.stream(c.seed(), "vae-scale"));
            log.accept(String.format("vae: held-out reconstruction MSE %.5f (PSNR %.1f dB on [-1, 1] -> [0, 1] pixels); "
                    + "scaling_factor %.5f", heldMse, psnr(heldMse), sf));
            Path out = Path.of(c.outputDir()).resolve("vae");
            Path tmp = DiffusersFolder.staging(out);
            JsonObject json = cfg.withScalingFactor(sf).toJson();
            DiffusersFolder.writeComponent(tmp, json, DiffusersFolder.DIFFUSERS_WEIGHTS, result, dtype(t));
            DiffusersFolder.publish(tmp, out);
            return new Result(trainMse, heldMse, psnr(heldMse), sf, seconds);
        }
    }

    /** MSE(decode(sample), x) + klWeight * mean KL(q(z|x) || N(0, 1)) per latent element. */
    static NDArray loss(AutoencoderKL vae, NDArray x, Rng noise, double klWeight) {
        DiagonalGaussianDistribution q = DiagonalGaussianDistribution.fromMoments(vae.momentsForTraining(x));
        NDArray z = q.sample(noise.randn(x.getManager(), q.mean().getShape()));
        NDArray rec = vae.decodeForTraining(z).sub(x).square().mean();
        if (klWeight == 0) {
            return rec;
        }
        // KL = 0.5 * (mean^2 + var - 1 - logvar), diffusers' DiagonalGaussianDistribution.kl()
        NDArray kl = q.mean().square().add(q.std().square()).sub(q.logvar());
        NDArray klMean = Ops.addScalar(kl, -1.0).mean();
        return rec.add(Ops.mulScalar(klMean, 0.5 * klWeight));
    }

    /** Mean squared error of decode(mode(encode(x))) on a set, in batches, without gradients. */
    static double reconstructionMse(AutoencoderKL vae, EmojiImages set, NDManager m) {
        double[] sum = {0};
        set.forEachBatch(m, 128, (from, x) -> sum[0] += vae.decode(vae.encode(x).mode()).sub(x).square().sum().getFloat());
        return sum[0] / ((double) set.count() * 3 * set.size() * set.size());
    }

    /** The standard deviation of latents sampled from q(z|x) over a set. */
    static double latentStd(AutoencoderKL vae, EmojiImages set, NDManager m, Rng noise) {
        double[] moments = new double[3]; // count, sum, sum of squares
        set.forEachBatch(m, 128, (from, x) -> {
            DiagonalGaussianDistribution q = vae.encode(x);
            for (float v : q.sample(noise.randn(m, q.mean().getShape())).toFloatArray()) {
                moments[0]++;
                moments[1] += v;
                moments[2] += (double) v * v;
            }
        });
        double mean = moments[1] / moments[0];
        return Math.sqrt(moments[2] / moments[0] - mean * mean);
    }

    /** PSNR of an MSE measured on [-1, 1] pixels, for [0, 1] pixels (the range is 2, so the MSE is 4x). */
    static double psnr(double mseOnPlusMinusOne) {
        return 10 * Math.log10(4.0 / mseOnPlusMinusOne);
    }

    /** The file dtype of the saved weights (train.save_dtype: fp32 F32, fp16 F16, bf16 BF16). */
    static DType dtype(PretrainConfig.Training t) {
        return DType.of(t.saveDtype());
    }

    /** Gradient-free copies (the EMA's arrays belong to the optimisation, closed with it). */
    static Map<String, NDArray> copyOf(Map<String, NDArray> weights, NDManager m) {
        Map<String, NDArray> out = new java.util.LinkedHashMap<>();
        try (NoGrad ng = NoGrad.open()) {
            for (Map.Entry<String, NDArray> e : weights.entrySet()) {
                NDArray d = e.getValue().duplicate();
                d.attach(m);
                out.put(e.getKey(), d);
            }
        }
        return out;
    }
}
