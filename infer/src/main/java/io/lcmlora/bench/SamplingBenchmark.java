package io.lcmlora.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.lcmlora.lora.Adapters;
import io.lcmlora.lora.LoraAdapter;
import io.lcmlora.lora.LoraComponent;
import io.lcmlora.lora.LoraTargets;
import io.lcmlora.model.unet.UNet2DConditionConfig;
import io.lcmlora.model.unet.UNet2DConditionModel;
import io.lcmlora.nn.AdaptableLayer;
import io.lcmlora.nn.Conv2d;
import io.lcmlora.nn.KeyValueMemo;
import io.lcmlora.nn.Linear;
import io.lcmlora.pipeline.DenoisingLoop;
import io.lcmlora.pipeline.Progress;
import io.lcmlora.schedule.NoiseSchedule;
import io.lcmlora.schedule.SamplerOptions;
import io.lcmlora.schedule.SchedulerConfig;
import io.lcmlora.schedule.SchedulerKind;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * LCM sampling time and peak memory: the pipeline's {@link DenoisingLoop} (LCM, no CFG, per-step scopes) over a
 * random-weight UNet, without LoRA, with a random rank-r LoRA on the LCM-LoRA targets unfused (deltas at every
 * step) and fused into the weights. Text encoding and VAE decoding are not included.
 */
public final class SamplingBenchmark {
    private SamplingBenchmark() {}

    /** One measured configuration. */
    public record Result(String preset, String adapters, int latent, int steps, double seconds, double perStepMs,
            double peakRssMiB) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "sample %-5s %-16s latent=%dx%d steps=%d: %.2f s (%.0f ms/step), peak RSS %.0f MiB",
                    preset, adapters, latent, latent, steps, seconds, perStepMs, peakRssMiB);
        }
    }

    /** Runs {@code reps} timed samplings (after one warm-up) per adapter mode: none, unfused, fused. */
    public static List<Result> sample(String presetName, int latent, int steps, int rank, int reps) {
        UNet2DConditionConfig cfg = UNetBenchmark.preset(presetName);
        Engine.getInstance().setRandomSeed(0);
        List<Result> out = new ArrayList<>();
        try (NDManager m = NDManager.newBaseManager()) {
            UNet2DConditionModel unet = new UNet2DConditionModel(
                    RandomWeights.of(m, vb -> new UNet2DConditionModel(vb, cfg), 0.02, DataType.FLOAT32), cfg);
            out.add(measure(m, unet, presetName, "no LoRA", latent, steps, reps));
            Adapters adapters = new Adapters(LoraComponent.UNET, unet.layers());
            Map<String, AdaptableLayer> targets = LoraTargets.select(unet.layers(), LoraTargets.LCM_LORA);
            Map<String, LoraAdapter> modules = new LinkedHashMap<>();
            targets.forEach((path, layer) -> modules.put(path, randomLora(m, layer, rank)));
            adapters.add("random", modules, 1.0);
            String label = "r" + rank + " x" + modules.size();
            out.add(measure(m, unet, presetName, label + " unfused", latent, steps, reps));
            adapters.fuse();
            out.add(measure(m, unet, presetName, label + " fused", latent, steps, reps));
        }
        return out;
    }

    private static LoraAdapter randomLora(NDManager m, AdaptableLayer layer, int rank) {
        Shape a;
        Shape b;
        if (layer instanceof Conv2d c) {
            a = new Shape(rank, c.in(), c.kernel(), c.kernel());
            b = new Shape(c.out(), rank, 1, 1);
        } else if (layer instanceof Linear l) {
            a = new Shape(rank, l.in());
            b = new Shape(l.out(), rank);
        } else {
            throw new IllegalArgumentException(layer.path() + ": not a Linear or Conv2d");
        }
        return new LoraAdapter(layer, m.randomNormal(0f, 0.01f, a, DataType.FLOAT32, m.getDevice()),
                m.randomNormal(0f, 0.01f, b, DataType.FLOAT32, m.getDevice()), (double) rank);
    }

    private static Result measure(NDManager m, UNet2DConditionModel unet, String preset, String adapters, int latent,
            int steps, int reps) {
        UNet2DConditionConfig cfg = unet.config();
        int ctx = cfg.crossAttentionDim()[0];
        int pooled = cfg.projectionClassEmbeddingsInputDim() - 6 * cfg.additionTimeEmbedDim();
        DenoisingLoop loop = DenoisingLoop.create(NoiseSchedule.of(SchedulerConfig.sdxl()), SamplerOptions.of(SchedulerKind.LCM, steps),
                false, 1.0);
        Shape shape = new Shape(1, cfg.inChannels(), latent, latent);
        double total = 0;
        Memory.resetPeak();
        try (NDManager run = m.newSubManager()) {
            NDArray context = run.randomNormal(new Shape(1, 77, ctx));
            NDArray textEmbeds = run.randomNormal(new Shape(1, pooled));
            NDArray timeIds = run.create(new float[] {1024, 1024, 0, 0, 1024, 1024}, new Shape(1, 6));
            DenoisingLoop.NoiseSource noise = (i, like) -> like.getManager().randomNormal(like.getShape());
            for (int r = -1; r < reps; r++) {
                long s = System.nanoTime();
                try (KeyValueMemo kv = unet.memoizeContext(context)) { // as the pipeline's loop
                    DenoisingLoop.Denoiser denoiser = (x, t) -> unet.forward(new UNet2DConditionModel.Inputs(x,
                            new double[] {t}, context, textEmbeds, timeIds), kv);
                    loop.run(run.randomNormal(shape), denoiser, noise, Progress.none(), "bench").toFloatArray();
                }
                if (r >= 0) {
                    total += (System.nanoTime() - s) / 1e9;
                }
            }
        }
        double mean = total / reps;
        return new Result(preset, adapters, latent, loop.timesteps().length, mean, 1000 * mean / loop.timesteps().length,
                Memory.peakRssMiB());
    }
}
