package io.lcmlora.model.unet;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.jni.JniUtils;
import io.lcmlora.io.ModelWeights;
import io.lcmlora.nn.AdaptableLayer;
import io.lcmlora.nn.Conv2d;
import io.lcmlora.nn.GroupNorm;
import io.lcmlora.nn.KeyValueMemo;
import io.lcmlora.nn.NoGrad;
import io.lcmlora.nn.Ops;
import io.lcmlora.nn.TimestepEmbedding;
import io.lcmlora.nn.Timesteps;
import io.lcmlora.nn.Weights;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;

/**
 * diffusers {@code UNet2DConditionModel} on the DJL engine, SDXL path included ({@code addition_embed_type
 * "text_time"}). Every parameter is looked up under its diffusers state-dict key, so diffusers checkpoints load
 * unchanged; every Linear/Conv2d is reachable by its module path through {@link #layers()} (LoRA targets).
 */
public final class UNet2DConditionModel {
    private final UNet2DConditionConfig config;
    private final DataType dtype;
    private final Conv2d convIn;
    private final Timesteps timeProj;
    private final TimestepEmbedding timeEmbedding;
    private final Timesteps addTimeProj;
    private final TimestepEmbedding addEmbedding;
    private final List<DownBlock> downBlocks = new ArrayList<>();
    private final UNetMidBlock2DCrossAttn midBlock;
    private final List<UpBlock> upBlocks = new ArrayList<>();
    private final GroupNorm convNormOut;
    private final Conv2d convOut;
    private final Map<String, AdaptableLayer> layers;
    private final long parameterCount;

    /** Builds the model from weights looked up by checkpoint key (use {@link Weights#shapesOnly} to count). */
    public UNet2DConditionModel(Weights vb, UNet2DConditionConfig c) {
        this.config = c;
        int n = c.levels();
        int[] boc = c.blockOutChannels();
        int[] heads = c.heads();
        int[] tl = c.transformerLayersPerBlock();
        int[] lpb = c.layersPerBlock();
        int[] ctx = c.crossAttentionDim();
        long temb = c.timeEmbedDim();
        int g = c.normNumGroups();
        double eps = c.normEps();

        convIn = new Conv2d(vb.pp("conv_in"), c.inChannels(), boc[0], c.convInKernel(), 1, (c.convInKernel() - 1) / 2);
        timeProj = new Timesteps(boc[0], c.flipSinToCos(), c.freqShift());
        timeEmbedding = new TimestepEmbedding(vb.pp("time_embedding"), boc[0], temb, c.timeCondProjDim());
        if ("text_time".equals(c.additionEmbedType())) {
            addTimeProj = new Timesteps(c.additionTimeEmbedDim(), c.flipSinToCos(), c.freqShift());
            addEmbedding = new TimestepEmbedding(vb.pp("add_embedding"), c.projectionClassEmbeddingsInputDim(), temb, 0);
        } else {
            addTimeProj = null;
            addEmbedding = null;
        }

        long out = boc[0];
        for (int i = 0; i < n; i++) {
            long in = out;
            out = boc[i];
            boolean last = i == n - 1;
            Weights b = vb.pp("down_blocks").pp(i);
            downBlocks.add(switch (c.downBlockTypes().get(i)) {
                case "DownBlock2D" -> new DownBlock2D(b, in, out, temb, lpb[i], g, eps, !last, c.downsamplePadding());
                case "CrossAttnDownBlock2D" -> new CrossAttnDownBlock2D(b, in, out, temb, lpb[i], g, eps, !last,
                        c.downsamplePadding(), heads[i], tl[i], ctx[i], c.useLinearProjection());
                default -> throw new IllegalArgumentException("down block type " + c.downBlockTypes().get(i));
            });
        }
        midBlock = new UNetMidBlock2DCrossAttn(vb.pp("mid_block"), boc[n - 1], temb, g, eps, heads[n - 1], tl[n - 1],
                ctx[n - 1], c.useLinearProjection());

        out = boc[n - 1];
        for (int i = 0; i < n; i++) {
            int r = n - 1 - i; // the mirrored down level
            long prevOut = out;
            out = boc[r];
            long in = boc[Math.max(r - 1, 0)];
            boolean last = i == n - 1;
            Weights b = vb.pp("up_blocks").pp(i);
            upBlocks.add(switch (c.upBlockTypes().get(i)) {
                case "UpBlock2D" -> new UpBlock2D(b, in, prevOut, out, temb, lpb[r] + 1, g, eps, !last);
                case "CrossAttnUpBlock2D" -> new CrossAttnUpBlock2D(b, in, prevOut, out, temb, lpb[r] + 1, g, eps, !last,
                        heads[r], tl[r], ctx[r], c.useLinearProjection());
                default -> throw new IllegalArgumentException("up block type " + c.upBlockTypes().get(i));
            });
        }
        convNormOut = new GroupNorm(vb.pp("conv_norm_out"), g, boc[0], eps);
        convOut = new Conv2d(vb.pp("conv_out"), boc[0], c.outChannels(), c.convOutKernel(), 1, (c.convOutKernel() - 1) / 2);

        this.dtype = vb.shapeOnly() ? DataType.FLOAT32 : convIn.weight().getDataType();
        this.layers = vb.adaptableLayers();
        this.parameterCount = vb.parameterCount();
    }

    /** Loads a diffusers {@code unet/} folder (config.json + weights), checking keys and shapes both ways. */
    public static UNet2DConditionModel load(Path dir, String variant, NDManager manager, DataType dtype) throws IOException {
        UNet2DConditionConfig cfg = UNet2DConditionConfig.read(dir.resolve("config.json"));
        List<Path> files = ModelWeights.files(dir, variant);
        Weights vb = Weights.of(manager, ModelWeights.load(files, manager, dtype), ModelWeights.describe(files));
        UNet2DConditionModel m = new UNet2DConditionModel(vb, cfg);
        vb.checkAllUsed(Set.of());
        return m;
    }

    public UNet2DConditionConfig config() {
        return config;
    }

    public DataType dtype() {
        return dtype;
    }

    /** Every Linear and Conv2d by module path ({@code down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q}). */
    public Map<String, AdaptableLayer> layers() {
        return layers;
    }

    public long parameterCount() {
        return parameterCount;
    }

    /** The inputs of one forward pass, named after diffusers' arguments. */
    public record Inputs(NDArray sample, double[] timesteps, NDArray encoderHiddenStates, NDArray textEmbeds,
            NDArray timeIds, NDArray timestepCond) {
        public Inputs {
            if (timesteps.length != 1 && timesteps.length != sample.getShape().get(0)) {
                throw new IllegalArgumentException("timesteps: expected 1 or " + sample.getShape().get(0) + " values, got " + timesteps.length);
            }
        }

        public Inputs(NDArray sample, double[] timesteps, NDArray encoderHiddenStates, NDArray textEmbeds, NDArray timeIds) {
            this(sample, timesteps, encoderHiddenStates, textEmbeds, timeIds, null);
        }
    }

    /**
     * The noise (or v/x0) prediction [B, out, H, W]. With grad mode on the graph is recorded as usual; with it off
     * (sampling, the distillation teacher) every block frees its intermediates as it goes.
     */
    public NDArray forward(Inputs in) {
        return forward(in, (BiConsumer<String, NDArray>) null);
    }

    /**
     * {@link #forward(Inputs)}; {@code tap}, when not null, receives intermediate activations under the golden set's
     * {@code dbg} names (time_proj, time_embedding, conv_in, down_block_i, ...).
     */
    public NDArray forward(Inputs in, BiConsumer<String, NDArray> tap) {
        return forward(in, tap, JniUtils.isGradMode() ? BlockRunner.PLAIN : new FreeingRunner(tap == null, null));
    }

    /**
     * Opens the cross-attention key/value memo of a sampling loop for {@code encoderHiddenStates}: pass it with that
     * very array to {@link #forward(Inputs, KeyValueMemo)} at every step, and close it after the loop. Each
     * cross-attention then computes {@code to_k}/{@code to_v} of the context once per loop instead of once per step
     * (the same bits; see {@link KeyValueMemo}).
     */
    public KeyValueMemo memoizeContext(NDArray encoderHiddenStates) {
        KeyValueMemo memo = new KeyValueMemo(encoderHiddenStates, cast(encoderHiddenStates));
        // every pair computed now, before the loop's activations: allocated together rather than between them
        try (NoGrad ng = NoGrad.open()) {
            for (Map.Entry<String, AdaptableLayer> e : layers.entrySet()) {
                if (e.getKey().endsWith(".attn2.to_k")) {
                    String v = e.getKey().substring(0, e.getKey().length() - "to_k".length()) + "to_v";
                    memo.keysValues(e.getValue(), layers.get(v));
                }
            }
        }
        return memo;
    }

    /**
     * {@link #forward(Inputs)} with the cross-attention keys and values of {@code memo} (opened by
     * {@link #memoizeContext} for {@code in.encoderHiddenStates()}); with grad mode on, or a null memo, the plain
     * forward.
     */
    public NDArray forward(Inputs in, KeyValueMemo memo) {
        if (memo == null || JniUtils.isGradMode()) {
            return forward(in);
        }
        if (memo.source() != in.encoderHiddenStates()) {
            throw new IllegalArgumentException("key/value memo opened for another encoder_hidden_states array: open one "
                    + "per sampling loop with memoizeContext(the array every step passes)");
        }
        return forward(in, null, new FreeingRunner(true, memo));
    }

    /**
     * The forward with every unit run as is whatever the grad mode (no per-block scopes, every intermediate kept
     * until the caller's scope closes): the baseline that benchmarks compare the freeing no-grad forward with.
     */
    public NDArray forwardUnscoped(Inputs in) {
        return forward(in, null, BlockRunner.PLAIN);
    }

    /**
     * A forward to back-propagate with activation checkpointing at granularity {@code mode}: the segments run without
     * a graph, and {@link Checkpointed#backward()} recomputes them one at a time. With {@link GradientCheckpointing#OFF},
     * or with grad mode off, it is the plain {@link #forward(Inputs)} (and {@code backward()} does nothing).
     */
    public Checkpointed forwardCheckpointed(Inputs in, GradientCheckpointing mode) {
        return switch (mode) {
            case OFF -> new Checkpointed(forward(in), null);
            case BLOCKS, TRANSFORMER -> {
                if (!JniUtils.isGradMode()) {
                    yield new Checkpointed(forward(in), null);
                }
                CheckpointTape tape = new CheckpointTape(mode);
                NDArray out;
                try (NoGrad ng = NoGrad.open()) {
                    out = forward(in, null, tape);
                }
                tape.retain(out);
                yield new Checkpointed(out, tape);
            }
        };
    }

    /** The result of {@link #forwardCheckpointed}: the prediction, and the rest of the backward pass. */
    public static final class Checkpointed {
        private final NDArray output;
        private final CheckpointTape tape;

        private Checkpointed(NDArray output, CheckpointTape tape) {
            this.output = output;
            this.tape = tape;
        }

        /** The prediction [B, out, H, W]; when checkpointed, a leaf whose gradient the caller's backward fills. */
        public NDArray output() {
            return output;
        }

        /**
         * Finishes back-propagation into the UNet's parameters: call right after back-propagating a loss built on
         * {@link #output()}, inside the same GradientCollector, before changing the adapters. Once only.
         */
        public void backward() {
            if (tape != null) {
                tape.backward();
            }
        }
    }

    /** The forward with every block and layer run through {@code r} (the seam: plain, freeing or checkpointing). */
    NDArray forward(Inputs in, BiConsumer<String, NDArray> tap, BlockRunner r) {
        BiConsumer<String, NDArray> t = (k, v) -> {
            if (tap != null && !r.replaying()) {
                r.keep(v);
                tap.accept(k, v);
            }
        };
        NDArray sample = cast(in.sample());
        long batch = sample.getShape().get(0);
        KeyValueMemo memo = r.keyValueMemo();
        NDArray context = memo != null ? memo.context() : cast(in.encoderHiddenStates()); // the memo's, by identity
        r.constant(context);

        // 1-3. prelude: time embedding, micro-conditioning, conv_in
        NDList pre = r.run(BlockKind.PRELUDE, new NDList(), none -> prelude(in, sample, t));
        NDArray emb = pre.get(0); // [B, T]
        NDArray h = pre.get(1); // [B, C0, H, W]

        // 3. encoder: down blocks collecting skips
        List<NDArray> skips = new ArrayList<>();
        skips.add(h);
        for (int i = 0; i < downBlocks.size(); i++) {
            DownBlock down = downBlocks.get(i);
            NDList added = r.run(BlockKind.DOWN, new NDList(h, emb, context), x -> {
                List<NDArray> s = new ArrayList<>();
                down.forward(x.get(0), x.get(1), x.get(2), s, r);
                return new NDList(s);
            });
            skips.addAll(added);
            h = added.get(added.size() - 1); // the block's output is its last skip
            t.accept("down_block_" + i, h);
        }

        // 4. middle
        h = r.one(BlockKind.MID, x -> midBlock.forward(x.get(0), x.get(1), x.get(2), r), h, emb, context);
        t.accept("mid_block", h);

        // 5. decoder: up blocks consuming skips; explicit upsample sizes when H or W is not a multiple of 2^(n-1)
        long factor = 1L << (upBlocks.size() - 1);
        boolean explicitSize = sample.getShape().get(2) % factor != 0 || sample.getShape().get(3) % factor != 0;
        for (int i = 0; i < upBlocks.size(); i++) {
            UpBlock up = upBlocks.get(i);
            int n = up.numResnets();
            boolean last = i == upBlocks.size() - 1;
            long[] size = null;
            if (!last && explicitSize) {
                NDArray next = skips.get(skips.size() - 1 - n);
                size = new long[] {next.getShape().get(2), next.getShape().get(3)};
            }
            long[] upsampleSize = size;
            List<NDArray> used = new ArrayList<>(skips.subList(skips.size() - n, skips.size()));
            skips.subList(skips.size() - n, skips.size()).clear();
            NDList inputs = new NDList(h);
            inputs.addAll(used);
            inputs.add(emb);
            inputs.add(context);
            NDArray prev = h;
            h = r.one(BlockKind.UP, x -> up.forward(x.get(0), new ArrayList<>(x.subNDList(1, n + 1)), x.get(n + 1),
                    x.get(n + 2), upsampleSize, r), inputs.toArray(new NDArray[0]));
            t.accept("up_block_" + i, h);
            if (r.freesConsumed()) {
                prev.close();
                used.forEach(NDArray::close);
            }
        }

        // 6. output head
        NDArray prev = h;
        NDArray out = r.one(BlockKind.HEAD, x -> {
            NDArray normed = convNormOut.forward(x.get(0));
            t.accept("conv_norm_out", normed);
            return convOut.forward(Ops.silu(normed));
        }, h);
        if (r.freesConsumed()) {
            prev.close();
            emb.close();
        }
        return out;
    }

    /** Steps 1-3 of the forward: (emb [B, T], conv_in(sample) [B, C0, H, W]). */
    private NDList prelude(Inputs in, NDArray sample, BiConsumer<String, NDArray> t) {
        long batch = sample.getShape().get(0);
        NDManager m = sample.getManager();

        // 1. time: [B] timesteps -> sinusoidal [B, C0] -> MLP [B, T]
        double[] ts = in.timesteps();
        if (ts.length == 1 && batch > 1) {
            double v = ts[0];
            ts = new double[(int) batch];
            java.util.Arrays.fill(ts, v);
        }
        NDArray tProj = timeProj.forward(m, ts, dtype);
        t.accept("time_proj", tProj);
        NDArray emb = timeEmbedding.forward(tProj, in.timestepCond() == null ? null : cast(in.timestepCond()));
        t.accept("time_embedding", emb);

        // 2. SDXL micro-conditioning: text_embeds ++ sinusoid(time_ids) -> add_embedding, added to emb
        if (addEmbedding != null) {
            if (in.textEmbeds() == null || in.timeIds() == null) {
                throw new IllegalArgumentException("this UNet (addition_embed_type text_time) needs text_embeds and time_ids");
            }
            float[] ids = in.timeIds().toType(DataType.FLOAT32, false).toFloatArray();
            double[] flat = new double[ids.length];
            for (int i = 0; i < ids.length; i++) {
                flat[i] = ids[i];
            }
            NDArray timeEmbeds = addTimeProj.forward(m, flat, dtype); // [B*6, D]
            t.accept("add_time_proj", timeEmbeds);
            NDArray addIn = NDArrays.concat(new NDList(cast(in.textEmbeds()), timeEmbeds.reshape(batch, -1)), -1); // [B, P]
            t.accept("add_embedding_input", addIn);
            NDArray aug = addEmbedding.forward(addIn, null);
            t.accept("add_embedding", aug);
            emb = emb.add(aug);
        }

        // 3. conv_in
        NDArray h = convIn.forward(sample);
        t.accept("conv_in", h);
        return new NDList(emb, h);
    }

    private NDArray cast(NDArray x) {
        return x.getDataType() == dtype ? x : x.toType(dtype, false);
    }
}
