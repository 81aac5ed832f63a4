package io.lcmlora.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.lcmlora.model.unet.UNet2DConditionConfig;
import io.lcmlora.model.unet.UNet2DConditionModel;
import io.lcmlora.nn.KeyValueMemo;
import io.lcmlora.nn.NoGrad;
import io.lcmlora.pipeline.DenoisingLoop;
import io.lcmlora.pipeline.Progress;
import io.lcmlora.schedule.SamplerOptions;
import io.lcmlora.schedule.SchedulerKind;
import io.lcmlora.schedule.NoiseSchedule;
import io.lcmlora.schedule.SchedulerConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The inference halves of the side-by-side workloads ({@link Workload}): one no-grad UNet forward at timestep 759,
 * and the SDXL pipeline's 4-step LCM denoising loop (guidance 1, latents only, no LoRA: the cost of a fused one),
 * as {@code peer_bench.py}'s {@code unet_fwd} and {@code sample4}. Inputs are Gaussian (seeded), time ids
 * {@code [1024, 1024, 0, 0, 1024, 1024]}; every iteration runs in its own scope.
 */
public final class WorkloadBenchmark {
    private WorkloadBenchmark() {}

    /** The conditioning of one batch: prompt embeddings [B, 77, D], pooled text embeddings, time ids [B, 6]. */
    public record Conditioning(NDArray context, NDArray textEmbeds, NDArray timeIds) {
        public static Conditioning random(NDManager m, UNet2DConditionConfig cfg, int batch) {
            int pooled = cfg.projectionClassEmbeddingsInputDim() - 6 * cfg.additionTimeEmbedDim();
            float[] ids = new float[6 * batch];
            for (int k = 0; k < batch; k++) {
                System.arraycopy(new float[] {1024, 1024, 0, 0, 1024, 1024}, 0, ids, 6 * k, 6);
            }
            return new Conditioning(m.randomNormal(new Shape(batch, 77, cfg.crossAttentionDim()[0])),
                    m.randomNormal(new Shape(batch, pooled)), m.create(ids, new Shape(batch, 6)));
        }
    }

    /**
     * The workload's UNet in fp32: the folder's weights when it holds {@code diffusion_pytorch_model.safetensors} (or its
     * index), otherwise random N(0, 0.02^2) weights of its {@code config.json} (cost, not quality, is measured).
     */
    public static UNet2DConditionModel unet(Workload w, NDManager m) throws IOException {
        Path configJson = w.configJson();
        Path dir = w.unetDir();
        if (Files.exists(dir.resolve("diffusion_pytorch_model.safetensors"))
                || Files.exists(dir.resolve("diffusion_pytorch_model.safetensors.index.json"))) {
            return UNet2DConditionModel.load(dir, null, m, DataType.FLOAT32);
        }
        UNet2DConditionConfig cfg = UNet2DConditionConfig.read(configJson);
        Engine.getInstance().setRandomSeed(0);
        return new UNet2DConditionModel(RandomWeights.of(m, vb -> new UNet2DConditionModel(vb, cfg), 0.02, DataType.FLOAT32),
                cfg);
    }

    /** {@code unet_fwd}: one no-grad forward per iteration on fixed inputs. */
    public static LoopStats unetForward(Workload w, int warmup, int iters, Path profile) throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            UNet2DConditionModel unet = unet(w, m);
            Engine.getInstance().setRandomSeed(1);
            NDArray x = m.randomNormal(new Shape(w.batch(), unet.config().inChannels(), w.latent(), w.latent()));
            Conditioning c = Conditioning.random(m, unet.config(), w.batch());
            UNet2DConditionModel.Inputs in = new UNet2DConditionModel.Inputs(x, new double[] {759}, c.context(),
                    c.textEmbeds(), c.timeIds());
            return LoopStats.run(w.name(), Workload.Measure.UNET_FWD.id(), warmup, iters, i -> {
                try (NDScope scope = new NDScope(); NoGrad ng = NoGrad.open()) {
                    unet.forward(in).toFloatArray();
                }
            }, profile);
        }
    }

    /** {@code sample4}: the 4-step LCM loop (timesteps 999, 759, 499, 259) from fresh latents per iteration. */
    public static LoopStats sample4(Workload w, int warmup, int iters, Path profile) throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            UNet2DConditionModel unet = unet(w, m);
            Engine.getInstance().setRandomSeed(1);
            Conditioning c = Conditioning.random(m, unet.config(), w.batch());
            DenoisingLoop loop = DenoisingLoop.create(NoiseSchedule.of(SchedulerConfig.sdxl()), SamplerOptions.of(SchedulerKind.LCM, 4),
                    false, 1.0);
            Shape shape = new Shape(w.batch(), unet.config().inChannels(), w.latent(), w.latent());
            DenoisingLoop.NoiseSource noise = (i, like) -> like.getManager().randomNormal(like.getShape());
            return LoopStats.run(w.name(), Workload.Measure.SAMPLE4.id(), warmup, iters, i -> {
                // one loop as the pipeline runs it: the cross-attention keys and values memoized over its steps
                try (NDScope scope = new NDScope(); NoGrad ng = NoGrad.open(); KeyValueMemo kv = unet.memoizeContext(c.context())) {
                    DenoisingLoop.Denoiser denoiser = (x, t) -> unet.forward(new UNet2DConditionModel.Inputs(x, new double[] {t},
                            c.context(), c.textEmbeds(), c.timeIds()), kv);
                    loop.run(m.randomNormal(shape), denoiser, noise, Progress.none(), "bench").toFloatArray();
                }
            }, profile);
        }
    }
}
