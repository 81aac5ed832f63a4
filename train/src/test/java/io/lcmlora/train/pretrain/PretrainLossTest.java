package io.lcmlora.train.pretrain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.lcmlora.singlefile.BundledScheduler;
import io.lcmlora.model.clip.ClipTextConfig;
import io.lcmlora.model.clip.CLIPTextModelWithProjection;
import io.lcmlora.model.clip.SdxlTimeIds;
import io.lcmlora.model.unet.UNet2DConditionConfig;
import io.lcmlora.model.unet.UNet2DConditionModel;
import io.lcmlora.model.vae.AutoencoderKL;
import io.lcmlora.model.vae.AutoencoderKLConfig;
import io.lcmlora.model.vae.DiagonalGaussianDistribution;
import io.lcmlora.nn.NoGrad;
import io.lcmlora.nn.Weights;
import io.lcmlora.schedule.NoiseSchedule;
import io.lcmlora.train.distill.OneEngineThread;
import io.lcmlora.train.loop.Rng;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The pretraining losses, optimisation pieces and batch sampling on tiny synthetic inputs. */
@ExtendWith(OneEngineThread.class)
class PretrainLossTest {
    static PretrainConfig.Training training(int steps, double lr, double ema) {
        return new PretrainConfig.Training(steps, 4, lr, 0, 0.0, 1.0, ema, 0.0, 1000, io.lcmlora.engine.Precision.FP32);
    }

    /** A few AdamW steps on one fixed batch must drive the epsilon-prediction loss well down. */
    @Test
    void epsilonLossDecreasesOnAFixedBatch() {
        UNet2DConditionConfig cfg = UnetTrainer.modelConfig(
                new PretrainConfig.Unet(List.of(16, 32), 1, List.of(1, 1), List.of(1, 2), 8, 4), 4, 4, 16, 8);
        int n = 4;
        Rng r = Rng.seeded(1);
        float[] mean = new float[n * 4 * 4 * 4];
        r.fillGaussian(mean);
        float[] context = new float[n * 77 * 16];
        r.fillGaussian(context);
        float[] pooled = new float[n * 8];
        r.fillGaussian(pooled);
        UnetTrainer.Cache cache = new UnetTrainer.Cache(mean, new float[mean.length], new long[] {n, 4, 4, 4}, context,
                new long[] {n, 77, 16}, pooled, new long[] {n, 8});
        UnetTrainer.Sampler.Batch batch = new UnetTrainer.Sampler(cache, 0, 0.0, 1.0, 1000).next(n);
        NoiseSchedule schedule = NoiseSchedule.of(BundledScheduler.sdxl());
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> params = ParamInit.torchDefault(m,
                    ParamInit.shapes(vb -> new UNet2DConditionModel(vb, cfg)), Rng.seeded(2));
            UNet2DConditionModel unet = new UNet2DConditionModel(Weights.of(m, params, "test"), cfg);
            List<Double> losses = new ArrayList<>();
            try (Optimization opt = new Optimization(params, training(30, 3e-3, 0), s -> { })) {
                for (int k = 0; k < 30; k++) {
                    losses.add(opt.step(() -> UnetTrainer.epsilonLoss(unet, schedule, batch, m, SdxlTimeIds.forImage(16, 16))));
                }
            }
            assertTrue(losses.get(0) > 0.3, "initial loss " + losses.get(0));
            assertTrue(losses.get(29) < 0.5 * losses.get(0), "losses " + losses);
        }
    }

    /** The VAE's reconstruction loss (KL weight 0) falls on a fixed set of images. */
    @Test
    void vaeReconstructionLossDecreases() {
        AutoencoderKLConfig cfg = new AutoencoderKLConfig(3, 3, List.of(8, 16), 1, 4, 4, 8, 1.0, false, true);
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> params = ParamInit.torchDefault(m, ParamInit.shapes(vb -> new AutoencoderKL(vb, cfg)),
                    Rng.seeded(3));
            AutoencoderKL vae = new AutoencoderKL(Weights.of(m, params, "test"), cfg);
            float[] x = images(4, 8);
            Rng noise = Rng.seeded(4);
            List<Double> losses = new ArrayList<>();
            try (Optimization opt = new Optimization(params, training(25, 1e-2, 0), s -> { })) {
                for (int k = 0; k < 25; k++) {
                    losses.add(opt.step(() -> VaeTrainer.loss(vae, m.create(x, new Shape(4, 3, 8, 8)), noise, 0)));
                }
            }
            assertTrue(losses.get(24) < 0.5 * losses.get(0), "losses " + losses);
        }
    }

    /** loss(w) - loss(0) with the same latent noise is w * 0.5 * mean(mu^2 + sigma^2 - 1 - log sigma^2). */
    @Test
    void klTermIsTheGaussianKlPerLatentElement() {
        AutoencoderKLConfig cfg = new AutoencoderKLConfig(3, 3, List.of(8, 16), 1, 4, 4, 8, 1.0, false, true);
        try (NDManager m = NDManager.newBaseManager(); NoGrad ng = NoGrad.open()) {
            Map<String, NDArray> params = ParamInit.torchDefault(m, ParamInit.shapes(vb -> new AutoencoderKL(vb, cfg)),
                    Rng.seeded(5));
            AutoencoderKL vae = new AutoencoderKL(Weights.of(m, params, "test"), cfg);
            NDArray x = m.create(images(2, 8), new Shape(2, 3, 8, 8));
            double w = 0.3;
            double with = VaeTrainer.loss(vae, x, Rng.seeded(6), w).getFloat();
            double without = VaeTrainer.loss(vae, x, Rng.seeded(6), 0).getFloat();
            DiagonalGaussianDistribution q = vae.encode(x);
            float[] mu = q.mean().toFloatArray();
            float[] logvar = q.logvar().toFloatArray();
            double kl = 0;
            for (int i = 0; i < mu.length; i++) {
                kl += mu[i] * mu[i] + Math.exp(logvar[i]) - 1 - logvar[i];
            }
            kl = 0.5 * kl / mu.length;
            assertTrue(kl > 1e-3, "a random encoder's KL is not ~0: " + kl);
            assertEquals(w * kl, with - without, 1e-5 * Math.max(1, w * kl));
        }
    }

    /** The EMA shadow follows diffusers' decay schedule min(decay, (1 + k) / (10 + k)). */
    @Test
    void emaFollowsTheDecaySchedule() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray p = m.create(new float[] {1f, -2f});
            try (Ema ema = new Ema(Map.of("p", p), 0.5)) {
                double[] expected = {1, -2};
                float[][] values = {{3f, 0f}, {5f, 4f}, {-1f, 2f}};
                for (int k = 1; k <= values.length; k++) {
                    p.set(values[k - 1]);
                    ema.update();
                    double d = Math.min(0.5, (1.0 + k) / (10.0 + k));
                    for (int i = 0; i < 2; i++) {
                        expected[i] = d * expected[i] + (1 - d) * values[k - 1][i];
                    }
                }
                float[] got = ema.weights().get("p").toFloatArray();
                assertEquals(expected[0], got[0], 1e-6);
                assertEquals(expected[1], got[1], 1e-6);
                assertEquals(2 / 11.0, Ema.decayAt(0.999, 1), 1e-12);
            }
        }
    }

    /** Caption dropout replaces whole rows by zeros at the configured rate; latents are (mean + std e) * scale. */
    @Test
    void samplerDropsCaptionsAndScalesLatents() {
        int n = 50;
        float[] mean = new float[n * 4];
        float[] ctx = new float[n * 3 * 2];
        float[] pooled = new float[n * 2];
        for (int i = 0; i < n; i++) {
            java.util.Arrays.fill(mean, i * 4, i * 4 + 4, i + 1);
        }
        java.util.Arrays.fill(ctx, 1f);
        java.util.Arrays.fill(pooled, 1f);
        UnetTrainer.Cache cache = new UnetTrainer.Cache(mean, new float[mean.length], new long[] {n, 4, 1, 1}, ctx,
                new long[] {n, 3, 2}, pooled, new long[] {n, 2});
        UnetTrainer.Sampler s = new UnetTrainer.Sampler(cache, 7, 0.25, 0.5, 1000);
        int dropped = 0;
        int rows = 0;
        for (int b = 0; b < 100; b++) {
            UnetTrainer.Sampler.Batch batch = s.next(40);
            for (int i = 0; i < 40; i++) {
                float c = batch.context()[i * 6];
                assertEquals(c, batch.pooled()[i * 2], "context and pooled drop together");
                dropped += c == 0f ? 1 : 0;
                rows++;
                float z = batch.latents()[i * 4];
                assertTrue(z == Math.rint(2 * z) / 2 && z >= 0.5f && z <= n * 0.5f, "z = mean * 0.5: " + z);
                assertTrue(batch.timesteps()[i] >= 0 && batch.timesteps()[i] < 1000);
            }
        }
        double sd = Math.sqrt(rows * 0.25 * 0.75);
        assertEquals(rows * 0.25, dropped, 4 * sd);
    }

    /** torch's default bounds and CLIP's normal init, by the rules cited in {@link ParamInit}. */
    @Test
    void initialisationFollowsTorchAndTransformers() {
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, long[]> shapes = new java.util.LinkedHashMap<>();
            shapes.put("conv.weight", new long[] {64, 16, 3, 3});
            shapes.put("conv.bias", new long[] {64});
            shapes.put("norm1.weight", new long[] {16});
            shapes.put("norm1.bias", new long[] {16});
            Map<String, NDArray> p = ParamInit.torchDefault(m, shapes, Rng.seeded(8));
            double bound = 1 / Math.sqrt(16 * 9);
            assertTrue(p.get("conv.weight").abs().max().getFloat() <= bound);
            assertTrue(p.get("conv.weight").abs().max().getFloat() > 0.95 * bound);
            assertTrue(p.get("conv.bias").abs().max().getFloat() <= bound);
            assertEquals(16f, p.get("norm1.weight").sum().getFloat());
            assertEquals(0f, p.get("norm1.bias").abs().sum().getFloat());

            ClipTextConfig c = new ClipTextConfig(500, 64, 128, 64, 4, 2, 77, ClipTextConfig.HiddenAct.GELU, 1e-5, 499,
                    List.of("CLIPTextModelWithProjection"));
            Map<String, NDArray> clip = ParamInit.clip(m, ParamInit.shapes(vb -> new CLIPTextModelWithProjection(vb, c)), c,
                    Rng.seeded(9));
            assertEquals(0.02, std(clip.get("text_model.embeddings.token_embedding.weight")), 0.002);
            assertEquals(Math.pow(64, -0.5) * Math.pow(8, -0.5),
                    std(clip.get("text_model.encoder.layers.0.self_attn.q_proj.weight")), 0.005);
            assertEquals(Math.pow(128, -0.5), std(clip.get("text_model.encoder.layers.1.mlp.fc1.weight")), 0.01);
            assertEquals(0f, clip.get("text_model.encoder.layers.1.mlp.fc1.bias").abs().sum().getFloat());
            assertEquals(64f, clip.get("text_model.final_layer_norm.weight").sum().getFloat());
        }
    }

    private static double std(NDArray a) {
        float[] v = a.toFloatArray();
        double s = 0;
        for (float x : v) {
            s += (double) x * x;
        }
        return Math.sqrt(s / v.length);
    }

    /** n smooth test images [n, 3, s, s] in [-1, 1]. */
    static float[] images(int n, int s) {
        float[] x = new float[n * 3 * s * s];
        for (int i = 0; i < x.length; i++) {
            int k = i / (3 * s * s);
            int c = (i / (s * s)) % 3;
            int yx = i % (s * s);
            x[i] = (float) Math.sin(0.7 * (yx / s) * (k + 1) + 0.5 * (yx % s) + c);
        }
        return x;
    }
}
