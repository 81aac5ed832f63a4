package io.lcmlora.train.gpu;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import io.lcmlora.bench.RandomWeights;
import io.lcmlora.engine.DeviceSpec;
import io.lcmlora.engine.EngineFeatures;
import io.lcmlora.engine.Precision;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.lora.Adapters;
import io.lcmlora.model.clip.ClipTextEncoder;
import io.lcmlora.model.unet.UNet2DConditionConfig;
import io.lcmlora.model.unet.UNet2DConditionModel;
import io.lcmlora.model.vae.AutoencoderKL;
import io.lcmlora.model.vae.AutoencoderKLConfig;
import io.lcmlora.nn.FlopCounter;
import io.lcmlora.schedule.NoiseSchedule;
import io.lcmlora.schedule.SchedulerConfig;
import io.lcmlora.train.config.TrainConfig;
import io.lcmlora.train.config.DistillConfig.Guidance;
import io.lcmlora.train.distill.LcdStep;
import io.lcmlora.train.distill.LcdStepCheck;
import io.lcmlora.train.distill.LoraTrainer;
import io.lcmlora.train.config.DistillConfig.Loss;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The prepared GPU check of {@code tools/gpu-check.sh}: one table of
 * <ol>
 *   <li>parity: the golden tiny UNet, VAE (encode, decode), both text encoders and one LCD step (loss and LoRA
 *       gradients) on the device in fp32, fp16 (GPU) and bf16 (when the JNI supports it) against the CPU fp32 golden
 *       outputs of {@code testdata/golden}: max abs error and relative error (max abs / max |golden|);</li>
 *   <li>speed: the SDXL-size UNet ({@code sdxl()} preset, random weights) forward and forward+backward at 128x128
 *       latents (1024 px), batch 1 and the largest that fits: seconds, TFLOP/s (FLOPs counted from the op shapes by
 *       {@link FlopCounter}; forward+backward counts 2x the forward: frozen weights, gradients of the activations
 *       only, as in LoRA training), peak GPU memory;</li>
 *   <li>one full LCD step at 1024 px, LoRA rank 64, batch 12 (halved until it fits), with and without
 *       {@code distill.gradient_checkpointing};</li>
 *   <li>4-step 1024 px sampling latency: UNet only, and with the SDXL VAE decode (fp32).</li>
 * </ol>
 * With {@link Options#small()} the same code runs at tiny sizes (the CPU half, tested on every build).
 * Every row is independent: an error becomes that row's result, and sections past the time budget are skipped.
 */
public final class GpuCheck {
    /**
     * @param device where to run
     * @param small tiny sizes (CPU smoke run) instead of SDXL sizes
     * @param golden the golden folder ({@code testdata/golden})
     * @param maxBatch the largest UNet batch tried
     * @param budgetSeconds sections starting after this many seconds are skipped
     * @param speed whether to run the speed sections (parity alone otherwise)
     */
    public record Options(DeviceSpec device, boolean small, Path golden, int maxBatch, double budgetSeconds,
            boolean speed) {
        public Options {
            if (device == null || golden == null) {
                throw new IllegalArgumentException("device and golden folder are required");
            }
            if (maxBatch < 1 || maxBatch > 256) {
                throw new IllegalArgumentException("max batch must be 1-256, got " + maxBatch);
            }
            if (!(budgetSeconds > 0)) {
                throw new IllegalArgumentException("time budget must be > 0 s, got " + budgetSeconds);
            }
        }
    }

    /** One line of the table. */
    public record Row(String check, String dtype, String result, double maxAbs, double rel) {
        static Row of(String check, Precision p, String result) {
            return new Row(check, p.label(), result, Double.NaN, Double.NaN);
        }

        static Row error(String check, Precision p, Throwable e) {
            String msg = e.getMessage() == null ? e.toString() : e.getMessage();
            int nl = msg.indexOf('\n');
            return of(check, p, "error: " + (nl > 0 ? msg.substring(0, nl) : msg));
        }
    }

    private final Options options;
    private final Device device;
    private final PrintStream log;
    private final long start = System.nanoTime();
    private final GpuMemory memory;

    private GpuCheck(Options options, PrintStream log) {
        this.options = options;
        this.device = options.device().resolve();
        this.log = log;
        this.memory = device.isGpu() ? GpuMemory.start() : GpuMemory.none();
    }

    /** Runs the check, printing each row to {@code log} as it is measured, and returns the rows. */
    public static List<Row> run(Options options, PrintStream log) {
        GpuCheck c = new GpuCheck(options, log);
        try {
            return c.all();
        } finally {
            c.memory.close();
        }
    }

    /** The precisions this device and JNI can run: fp32, fp16 on a GPU, bf16 with the patched JNI. */
    public static List<Precision> precisions(Device device) {
        List<Precision> out = new ArrayList<>();
        for (Precision p : Precision.values()) {
            switch (p) {
                case FP32 -> out.add(p);
                case FP16 -> {
                    if (device.isGpu()) {
                        out.add(p);
                    }
                }
                case BF16 -> {
                    if (EngineFeatures.bf16()) {
                        out.add(p);
                    }
                }
            }
        }
        return out;
    }

    private List<Row> all() {
        List<Row> rows = new ArrayList<>();
        log.println("gpu-check: device " + device + ", engine " + Engine.getInstance().getVersion() + ", bf16 JNI "
                + EngineFeatures.bf16() + ", JNI " + EngineFeatures.loadedJni().map(Path::toString).orElse("?"));
        List<Precision> precisions = precisions(device);
        for (Precision p : precisions) {
            add(rows, parity(p));
        }
        if (options.speed()) {
            List<Precision> speed = precisions.stream().filter(p -> p != Precision.FP32 || !device.isGpu()).toList();
            for (Precision p : speed) {
                add(rows, timed("unet speed", p, () -> unetSpeed(p)));
            }
            Precision train = speed.get(0);
            add(rows, timed("lcd step", train, () -> lcdStepSpeed(train)));
            add(rows, timed("sampling", train, () -> sampling(train)));
        }
        return rows;
    }

    private void add(List<Row> rows, List<Row> more) {
        for (Row r : more) {
            log.printf(Locale.ROOT, "| %s | %s | %s |%n", r.check(), r.dtype(), r.result());
            rows.add(r);
        }
    }

    private List<Row> timed(String what, Precision p, Supplier<List<Row>> body) {
        double elapsed = (System.nanoTime() - start) / 1e9;
        if (elapsed > options.budgetSeconds()) {
            return List.of(Row.of(what, p, String.format(Locale.ROOT, "skipped: %.0f s of the %.0f s budget used",
                    elapsed, options.budgetSeconds())));
        }
        try {
            return body.get();
        } catch (RuntimeException e) {
            return List.of(Row.error(what, p, e));
        } finally {
            releaseCache();
        }
    }

    private void releaseCache() {
        if (device.isGpu()) {
            JniUtils.emptyCudaCache();
        }
    }

    // ---- 1. parity on the golden tiny models ----

    private List<Row> parity(Precision p) {
        List<Row> rows = new ArrayList<>();
        Path g = options.golden();
        DataType t = p.dataType();
        rows.add(compare("unet case b", p, () -> {
            try (NDManager m = NDManager.newBaseManager(device); SafeTensorsFile c = SafeTensorsFile.open(g.resolve("unet/cases.safetensors"))) {
                UNet2DConditionModel unet = UNet2DConditionModel.load(g.resolve("unet"), null, m, t);
                long[] ts = c.longs("b_timestep");
                double[] d = new double[ts.length];
                for (int i = 0; i < ts.length; i++) {
                    d[i] = ts[i];
                }
                NDArray out = unet.forward(new UNet2DConditionModel.Inputs(c.load("b_sample", m), d,
                        c.load("b_encoder_hidden_states", m), c.load("b_text_embeds", m), c.load("b_time_ids", m)));
                return error(out, c.load("b_out", m));
            }
        }));
        rows.add(compare("vae decode", p, () -> {
            try (NDManager m = NDManager.newBaseManager(device); SafeTensorsFile c = SafeTensorsFile.open(g.resolve("vae/cases.safetensors"))) {
                AutoencoderKL vae = AutoencoderKL.load(g.resolve("vae"), m, vaeType(t));
                return error(vae.decode(cast(c.load("decode_in", m), t)), c.load("decode_out", m));
            }
        }));
        rows.add(compare("vae encode mean", p, () -> {
            try (NDManager m = NDManager.newBaseManager(device); SafeTensorsFile c = SafeTensorsFile.open(g.resolve("vae/cases.safetensors"))) {
                AutoencoderKL vae = AutoencoderKL.load(g.resolve("vae"), m, vaeType(t));
                return error(vae.encode(cast(c.load("image", m), t)).mean(), c.load("latent_mean", m));
            }
        }));
        for (int which = 1; which <= 2; which++) {
            int w = which;
            rows.add(compare("text_encoder" + (w == 1 ? "" : "_2") + (w == 1 ? " last_hidden_state" : " text_embeds"), p, () -> {
                try (NDManager m = NDManager.newBaseManager(device);
                        SafeTensorsFile c = SafeTensorsFile.open(g.resolve("text_encoders/cases.safetensors"))) {
                    ClipTextEncoder te = ClipTextEncoder.load(g.resolve("text_encoders/text_encoder" + (w == 1 ? "" : "_2")), m,
                            t, null, ClipTextEncoder.Projection.AUTO);
                    var out = te.forward(c.load("input_ids_" + w, m));
                    return w == 1 ? error(out.lastHiddenState(), c.load("te1_last_hidden_state", m))
                            : error(out.textEmbeds(), c.load("te2_text_embeds", m));
                }
            }));
        }
        rows.addAll(lcdParity(p));
        releaseCache();
        return rows;
    }

    /** The VAE runs in the asked dtype here (to show its error); training and sampling keep it fp32. */
    private static DataType vaeType(DataType t) {
        return t == DataType.BFLOAT16 ? DataType.FLOAT32 : t;
    }

    private static NDArray cast(NDArray x, DataType t) {
        DataType v = vaeType(t);
        return x.getDataType() == v ? x : x.toType(v, false);
    }

    private Row compare(String what, Precision p, IoSupplier<double[]> body) {
        try {
            double[] e = body.get();
            return new Row(what, p.label(), String.format(Locale.ROOT, "max abs %.3g, rel %.3g", e[0], e[1]), e[0], e[1]);
        } catch (IOException | RuntimeException e) {
            return Row.error(what, p, e);
        }
    }

    /** {max |a - b|, max |a - b| / max |b|}, computed in fp32 on the CPU. */
    static double[] error(NDArray actual, NDArray golden) {
        if (!actual.getShape().equals(golden.getShape())) {
            throw new IllegalArgumentException("shape " + actual.getShape() + " vs golden " + golden.getShape());
        }
        float[] a = actual.toType(DataType.FLOAT32, false).toFloatArray();
        float[] b = golden.toType(DataType.FLOAT32, false).toFloatArray();
        double max = 0;
        double ref = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Float.isFinite(a[i]) ? Math.abs(a[i] - b[i]) : Double.POSITIVE_INFINITY);
            ref = Math.max(ref, Math.abs(b[i]));
        }
        return new double[] {max, ref == 0 ? max : max / ref};
    }

    private List<Row> lcdParity(Precision p) {
        Path g = options.golden();
        List<Row> rows = new ArrayList<>();
        try (NDManager m = NDManager.newBaseManager(device);
                SafeTensorsFile step = SafeTensorsFile.open(g.resolve("lcd_step/step.safetensors"))) {
            DataType t = p.dataType();
            UNet2DConditionModel unet = UNet2DConditionModel.load(g.resolve("unet"), null, m, t);
            Adapters adapters = LcdStepCheck.attachTrainable(unet, g.resolve("lcd_step/lora_state.safetensors"), m, t);
            int ddim = step.contains("num_ddim_timesteps") ? (int) step.longs("num_ddim_timesteps")[0] : 50;
            double huber = step.contains("huber_c") ? step.floats("huber_c")[0] : 0.001;
            // fp16 gradients of the tiny model underflow without scaling: scale the loss, unscale in fp32
            double scale = p.needsLossScaling() ? 1024 : 1;
            Map<String, NDArray> out = LcdStepCheck.run(unet, adapters, new LcdStep.Config(ddim, Loss.HUBER, huber,
                    Guidance.LCM, 10.0), NoiseSchedule.of(SchedulerConfig.sdxl()),
                    new LcdStep.Batch(step.load("latents", m), step.load("prompt_embeds", m), step.load("text_embeds", m),
                            step.load("time_ids", m)),
                    new LcdStep.Draws(step.longs("index"), step.load("noise", m), step.floats("w")), scale);
            for (String loss : new String[] {"loss_huber", "loss_l2"}) {
                double[] e = error(out.get(loss), step.load(loss, m));
                rows.add(new Row("lcd step " + loss, p.label(), String.format(Locale.ROOT, "abs %.3g, rel %.3g", e[0], e[1]),
                        e[0], e[1]));
            }
            // relative to the largest golden gradient of all: per-tensor ratios blow up on near-zero tensors
            double worstAbs = 0;
            double ref = 0;
            String worstKey = "";
            int n = 0;
            for (Map.Entry<String, NDArray> e : out.entrySet()) {
                if (e.getKey().startsWith("grad_") && !e.getKey().endsWith("_total_norm") && step.contains(e.getKey())) {
                    NDArray want = step.load(e.getKey(), m);
                    double abs = error(e.getValue(), want)[0];
                    ref = Math.max(ref, want.abs().max().toType(DataType.FLOAT32, false).getFloat());
                    n++;
                    if (!(abs <= worstAbs)) {
                        worstAbs = abs;
                        worstKey = e.getKey();
                    }
                }
            }
            double rel = ref == 0 ? worstAbs : worstAbs / ref;
            rows.add(new Row("lcd step LoRA grads (" + n + ")", p.label(), String.format(Locale.ROOT,
                    "max abs %.3g (%s), rel to the largest golden grad %.3g", worstAbs, worstKey, rel), worstAbs, rel));
        } catch (IOException | RuntimeException e) {
            rows.add(Row.error("lcd step", p, e));
        }
        return rows;
    }

    // ---- 2. SDXL-size UNet speed ----

    private UNet2DConditionConfig speedConfig() {
        return options.small() ? UNet2DConditionConfig.tiny() : UNet2DConditionConfig.sdxl();
    }

    private int latent() {
        return options.small() ? 16 : 128;
    }

    private static UNet2DConditionModel randomUnet(NDManager m, UNet2DConditionConfig cfg, DataType t) {
        return new UNet2DConditionModel(RandomWeights.of(m, vb -> new UNet2DConditionModel(vb, cfg), 0.02, t), cfg);
    }

    private UNet2DConditionModel.Inputs inputs(NDManager m, UNet2DConditionConfig cfg, int batch, DataType t) {
        int lat = latent();
        int ctx = cfg.crossAttentionDim()[0];
        int pooled = cfg.projectionClassEmbeddingsInputDim() - 6 * cfg.additionTimeEmbedDim();
        float px = lat * 8f;
        return new UNet2DConditionModel.Inputs(m.randomNormal(0, 1, new Shape(batch, 4, lat, lat), t), new double[] {500},
                m.randomNormal(0, 1, new Shape(batch, 77, ctx), t), m.randomNormal(0, 1, new Shape(batch, pooled), t),
                m.create(new float[] {px, px, 0, 0, px, px}).reshape(1, 6).repeat(0, batch));
    }

    private static boolean outOfMemory(Throwable e) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            String msg = c.getMessage();
            if (c instanceof EngineException && msg != null && msg.toLowerCase(Locale.ROOT).contains("out of memory")) {
                return true;
            }
        }
        return false;
    }

    private List<Row> unetSpeed(Precision p) {
        UNet2DConditionConfig cfg = speedConfig();
        DataType t = p.dataType();
        List<Row> rows = new ArrayList<>();
        int reps = options.small() ? 1 : 3;
        try (NDManager m = NDManager.newBaseManager(device)) {
            UNet2DConditionModel unet = randomUnet(m, cfg, t);
            double flops1;
            try (NDScope s = new NDScope(); FlopCounter fc = FlopCounter.open()) {
                unet.forward(inputs(m, cfg, 1, t)).toType(DataType.FLOAT32, false).sum().getFloat();
                flops1 = fc.flops();
            }
            String label = (options.small() ? "tiny" : "sdxl") + " unet " + latent() + "x" + latent();
            int fitted = 0;
            for (int b = 1; b <= options.maxBatch(); b *= 2) {
                double[] fwd;
                double[] bwd;
                try {
                    memory.reset();
                    fwd = timeUnet(unet, cfg, b, t, reps, false);
                    double peakF = memory.peakMiB();
                    memory.reset();
                    bwd = timeUnet(unet, cfg, b, t, reps, true);
                    double peakB = memory.peakMiB();
                    fitted = b;
                    if (b == 1 || 2 * b > options.maxBatch()) {
                        rows.add(speedRow(label + " forward", p, b, fwd[0], flops1 * b, peakF));
                        rows.add(speedRow(label + " forward+backward", p, b, bwd[0], 2 * flops1 * b, peakB));
                    }
                } catch (EngineException e) {
                    if (!outOfMemory(e)) {
                        throw e;
                    }
                    releaseCache();
                    rows.add(Row.of(label, p, "batch " + b + " does not fit (out of memory); largest that fits: " + fitted));
                    break;
                }
            }
        }
        return rows;
    }

    private Row speedRow(String what, Precision p, int batch, double seconds, double flops, double peakMiB) {
        return Row.of(what, p, String.format(Locale.ROOT, "batch %d: %.4g s, %.3g TFLOP/s (%.3g TFLOP), peak %s", batch, seconds,
                flops / seconds / 1e12, flops / 1e12, GpuMemory.format(peakMiB)));
    }

    /** {mean seconds} over {@code reps} runs after one warm-up. */
    private double[] timeUnet(UNet2DConditionModel unet, UNet2DConditionConfig cfg, int batch, DataType t, int reps,
            boolean backward) {
        NDManager m = NDManager.newBaseManager(device);
        try (m) {
            double total = 0;
            for (int r = -1; r < reps; r++) {
                try (NDScope s = new NDScope()) {
                    UNet2DConditionModel.Inputs in = inputs(m, cfg, batch, t);
                    if (backward) {
                        in.sample().setRequiresGradient(true);
                    }
                    sync(in.sample());
                    long t0 = System.nanoTime();
                    if (backward) {
                        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                            NDArray out = unet.forward(in);
                            gc.backward(out.mean());
                        }
                        sync(in.sample().getGradient());
                    } else {
                        sync(unet.forward(in));
                    }
                    if (r >= 0) {
                        total += (System.nanoTime() - t0) / 1e9;
                    }
                }
            }
            return new double[] {total / reps};
        }
    }

    /** Waits for the device by reading one value back. */
    private static void sync(NDArray x) {
        x.get(0).flatten().get(0).toType(DataType.FLOAT32, false).getFloat();
    }

    // ---- 3. one full LCD step ----

    private List<Row> lcdStepSpeed(Precision p) {
        List<Row> rows = new ArrayList<>();
        int batch = options.small() ? 2 : 12;
        int rank = options.small() ? 4 : 64;
        for (String ckpt : new String[] {"false", "true"}) {
            TrainConfig config;
            try {
                config = TrainConfig.parse("lora: {rank: " + rank + ", alpha: " + rank + ".0}\n"
                        + "precision: {device: " + options.device() + ", weights_dtype: " + p.label() + "}\n",
                        ckpt.equals("true") // the key of the checkpointing work; off is the default
                                ? List.of("distill.train_batch_size=" + batch, "distill.gradient_checkpointing=true")
                                : List.of("distill.train_batch_size=" + batch));
            } catch (RuntimeException e) {
                rows.add(Row.error("lcd step checkpointing=" + ckpt, p, e));
                continue;
            }
            for (int b = batch; b >= 1; b = b / 2) {
                try {
                    rows.add(lcdStepRow(p, config, b, rank, ckpt));
                    break;
                } catch (EngineException e) {
                    if (!outOfMemory(e) || b == 1) {
                        rows.add(Row.error("lcd step checkpointing=" + ckpt + " batch " + b, p, e));
                        break;
                    }
                    releaseCache();
                }
            }
        }
        return rows;
    }

    private Row lcdStepRow(Precision p, TrainConfig config, int batch, int rank, String ckpt) {
        UNet2DConditionConfig cfg = speedConfig();
        DataType t = p.dataType();
        int lat = latent();
        try (NDManager m = NDManager.newBaseManager(device)) {
            UNet2DConditionModel unet = randomUnet(m, cfg, t);
            int ctx = cfg.crossAttentionDim()[0];
            int pooled = cfg.projectionClassEmbeddingsInputDim() - 6 * cfg.additionTimeEmbedDim();
            float px = lat * 8f;
            memory.reset();
            try (LoraTrainer trainer = new LoraTrainer(unet, NoiseSchedule.of(SchedulerConfig.sdxl()), config, m)) {
                double seconds = 0;
                int reps = options.small() ? 1 : 2;
                LoraTrainer.Update u = null;
                for (int r = -1; r < reps; r++) {
                    long t0 = System.nanoTime();
                    u = trainer.update(i -> new LoraTrainer.Micro(new LcdStep.Batch(
                            m.randomNormal(new Shape(batch, 4, lat, lat)), m.randomNormal(0, 1, new Shape(batch, 77, ctx), t),
                            m.randomNormal(0, 1, new Shape(batch, pooled), t),
                            m.create(new float[] {px, px, 0, 0, px, px}).reshape(1, 6).repeat(0, batch)),
                            new LcdStep.Draws(new long[batch], m.randomNormal(new Shape(batch, 4, lat, lat)), filled(batch, 7.5f))),
                            1e-6, r + 2, false);
                    if (r >= 0) {
                        seconds += (System.nanoTime() - t0) / 1e9;
                    }
                }
                return Row.of("lcd step " + lat * 8 + " px rank " + rank + " checkpointing=" + ckpt, p,
                        String.format(Locale.ROOT, "batch %d: %.3f s/step, %.2f img/s, loss %.4g%s, peak %s", batch,
                                seconds / reps, batch * reps / seconds, u.loss(), u.skipped() ? " (skipped: overflow)" : "",
                                GpuMemory.format(memory.peakMiB())));
            }
        }
    }

    private static float[] filled(int n, float v) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, v);
        return a;
    }

    // ---- 4. 4-step sampling latency ----

    private List<Row> sampling(Precision p) {
        UNet2DConditionConfig cfg = speedConfig();
        DataType t = p.dataType();
        int steps = 4;
        List<Row> rows = new ArrayList<>();
        try (NDManager m = NDManager.newBaseManager(device)) {
            UNet2DConditionModel unet = randomUnet(m, cfg, t);
            AutoencoderKLConfig vc = options.small() ? AutoencoderKLConfig.tiny() : AutoencoderKLConfig.sdxl();
            AutoencoderKL vae = new AutoencoderKL(RandomWeights.of(m, vb -> new AutoencoderKL(vb, vc), 0.02,
                    DataType.FLOAT32), vc);
            double unetOnly = 0;
            double withVae = 0;
            int reps = options.small() ? 1 : 2;
            memory.reset();
            for (int r = -1; r < reps; r++) {
                try (NDScope s = new NDScope()) {
                    UNet2DConditionModel.Inputs in = inputs(m, cfg, 1, t);
                    sync(in.sample());
                    long t0 = System.nanoTime();
                    NDArray x = in.sample();
                    for (int i = 0; i < steps; i++) {
                        NDArray eps = unet.forward(new UNet2DConditionModel.Inputs(x, new double[] {999 - 250 * i},
                                in.encoderHiddenStates(), in.textEmbeds(), in.timeIds()));
                        x = x.sub(eps.mul(m.full(new Shape(), 0.1f, eps.getDataType())));
                    }
                    sync(x);
                    long t1 = System.nanoTime();
                    sync(vae.decode(x.toType(DataType.FLOAT32, false)));
                    long t2 = System.nanoTime();
                    if (r >= 0) {
                        unetOnly += (t1 - t0) / 1e9;
                        withVae += (t2 - t0) / 1e9;
                    }
                }
            }
            String what = steps + "-step sampling " + latent() * 8 + " px";
            rows.add(Row.of(what + " (UNet only)", p, String.format(Locale.ROOT, "%.3f s", unetOnly / reps)));
            rows.add(Row.of(what + " + VAE decode (fp32)", p, String.format(Locale.ROOT, "%.3f s, peak %s", withVae / reps,
                    GpuMemory.format(memory.peakMiB()))));
        }
        return rows;
    }

    /** A supplier that may throw IOException. */
    @FunctionalInterface
    interface IoSupplier<T> {
        T get() throws IOException;
    }
}
