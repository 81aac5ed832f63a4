package io.lcmlora.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.lcmlora.model.unet.UNet2DConditionConfig;
import io.lcmlora.model.unet.UNet2DConditionModel;
import io.lcmlora.nn.Ops;
import java.util.Locale;

/**
 * UNet forward time and peak memory at a given latent size with random weights of the chosen preset, and
 * fused-attention time and memory at a given token count.
 */
public final class UNetBenchmark {
    private UNetBenchmark() {}

    /** One measured configuration. */
    public record Result(String preset, long params, int latent, int batch, double loadSeconds, double meanForwardMs,
            double peakRssMiB) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "unet %-5s params=%,d latent=%dx%d batch=%d: build %.1f s, forward %.0f ms, peak RSS %.0f MiB",
                    preset, params, latent, latent, batch, loadSeconds, meanForwardMs, peakRssMiB);
        }
    }

    public static UNet2DConditionConfig preset(String name) {
        return switch (name) {
            case "sdxl" -> UNet2DConditionConfig.sdxl();
            case "tiny" -> UNet2DConditionConfig.tiny();
            case "mid" -> mid();
            default -> throw new IllegalArgumentException("preset '" + name + "': expected sdxl, mid or tiny");
        };
    }

    /** A mid-size SDXL-shaped UNet (SDXL's block layout at a quarter of its width, 1/5 the depth). */
    public static UNet2DConditionConfig mid() {
        UNet2DConditionConfig s = UNet2DConditionConfig.sdxl();
        return new UNet2DConditionConfig(64, 4, 4, true, 0, s.downBlockTypes(), s.midBlockType(), s.upBlockTypes(),
                new int[] {96, 192, 384}, new int[] {2, 2, 2}, 1, 32, 1e-5, new int[] {512, 512, 512}, new int[] {1, 1, 2},
                new int[] {2, 3, 6}, true, "text_time", 64, 512 + 6 * 64, 0, 3, 3, 0);
    }

    public static Result unet(String presetName, int latent, int batch, int reps) {
        UNet2DConditionConfig cfg = preset(presetName);
        Engine.getInstance().setRandomSeed(0);
        try (NDManager m = NDManager.newBaseManager()) {
            long t0 = System.nanoTime();
            UNet2DConditionModel unet = new UNet2DConditionModel(
                    RandomWeights.of(m, vb -> new UNet2DConditionModel(vb, cfg), 0.02, DataType.FLOAT32), cfg);
            double load = (System.nanoTime() - t0) / 1e9;
            int ctx = cfg.crossAttentionDim()[0];
            int pooled = cfg.projectionClassEmbeddingsInputDim() - 6 * cfg.additionTimeEmbedDim();
            double total = 0;
            for (int r = -1; r < reps; r++) {
                try (NDScope scope = new NDScope()) {
                    NDArray x = m.randomNormal(new Shape(batch, 4, latent, latent));
                    NDArray c = m.randomNormal(new Shape(batch, 77, ctx));
                    NDArray te = m.randomNormal(new Shape(batch, pooled));
                    NDArray ids = m.create(new float[] {1024, 1024, 0, 0, 1024, 1024}).reshape(1, 6).repeat(0, batch);
                    long s = System.nanoTime();
                    unet.forward(new UNet2DConditionModel.Inputs(x, new double[] {500}, c, te, ids)).toFloatArray();
                    if (r >= 0) {
                        total += (System.nanoTime() - s) / 1e6;
                    }
                }
            }
            return new Result(presetName, unet.parameterCount(), latent, batch, load, total / reps, Memory.peakRssMiB());
        }
    }

    /** Fused attention at {@code tokens} tokens: time per call and the RSS growth it causes. */
    public static String attention(int tokens, int heads, int headDim, int reps) {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray q = m.randomNormal(new Shape(1, heads, tokens, headDim));
            NDArray k = m.randomNormal(new Shape(1, heads, tokens, headDim));
            NDArray v = m.randomNormal(new Shape(1, heads, tokens, headDim));
            Ops.attention(q, k, v).close();
            boolean reset = Memory.resetPeak();
            double before = Memory.rssMiB();
            long s = System.nanoTime();
            for (int r = 0; r < reps; r++) {
                try (NDScope scope = new NDScope()) {
                    Ops.attention(q, k, v).toFloatArray();
                }
            }
            double ms = (System.nanoTime() - s) / 1e6 / reps;
            double grow = Memory.peakRssMiB() - before;
            double naiveScores = 1.0 * heads * tokens * tokens * 4 / (1 << 20);
            return String.format(Locale.ROOT, "attention fused SDPA tokens=%d heads=%d dim=%d: %.0f ms/call, peak RSS growth %s MiB "
                    + "(a materialised fp32 score matrix would be %.0f MiB)", tokens, heads, headDim, ms,
                    reset ? String.format(Locale.ROOT, "%.0f", grow) : "n/a", naiveScores);
        }
    }
}
