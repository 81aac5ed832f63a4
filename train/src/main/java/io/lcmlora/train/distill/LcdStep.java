package io.lcmlora.train.distill;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.GradientCollector;
import io.lcmlora.lora.Adapters;
import io.lcmlora.model.unet.GradientCheckpointing;
import io.lcmlora.model.unet.UNet2DConditionModel;
import io.lcmlora.nn.NoGrad;
import io.lcmlora.nn.Ops;
import io.lcmlora.nn.Scopes;
import io.lcmlora.schedule.BoundaryScalings;
import io.lcmlora.schedule.Coefficients;
import io.lcmlora.schedule.DdimSolver;
import io.lcmlora.schedule.NoiseSchedule;
import io.lcmlora.schedule.Predictions;
import io.lcmlora.schedule.SchedulerConfig.PredictionType;
import io.lcmlora.train.config.DistillConfig;
import io.lcmlora.train.config.DistillConfig.Guidance;
import io.lcmlora.train.config.DistillConfig.Loss;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One latent consistency distillation step (LCM-LoRA, arXiv 2311.05556; numerics of diffusers v0.25.1
 * {@code train_lcm_distill_lora_sdxl.py}). The same UNet is teacher (adapters off), target and student (adapters
 * on); only the student pass records gradients, which reach the LoRA parameters alone.
 */
public final class LcdStep {
    /**
     * @param numDdimTimesteps N of the skipping-step DDIM schedule (k = 1000 / N)
     * @param huberC the pseudo-Huber constant c
     * @param timestepScaling the factor on t in the boundary scalings c_skip(t), c_out(t) (10 in the SDXL recipe)
     */
    public record Config(int numDdimTimesteps, Loss loss, double huberC, Guidance guidance, double timestepScaling,
            GradientCheckpointing checkpointing) {
        public Config {
            if (checkpointing == null) {
                throw new IllegalArgumentException("gradient checkpointing must be one of false, blocks, transformer");
            }
            if (numDdimTimesteps < 1 || numDdimTimesteps > 1000) {
                throw new IllegalArgumentException("num_ddim_timesteps must be in [1, 1000], got " + numDdimTimesteps);
            }
            if (!(huberC > 0)) {
                throw new IllegalArgumentException("huber_c must be > 0, got " + huberC);
            }
            if (!(timestepScaling > 0) || Double.isInfinite(timestepScaling)) {
                throw new IllegalArgumentException("timestep_scaling must be a finite number > 0, got " + timestepScaling);
            }
        }

        /** Without activation checkpointing. */
        public Config(int numDdimTimesteps, Loss loss, double huberC, Guidance guidance, double timestepScaling) {
            this(numDdimTimesteps, loss, huberC, guidance, timestepScaling, GradientCheckpointing.OFF);
        }

        /** The reference recipe: N = 50, Huber with c = 0.001, the script's (LCM-form) guidance, timestep scaling 10. */
        public static Config reference() {
            return of(DistillConfig.defaults());
        }

        /** The step settings of a run's {@code distill} section. */
        public static Config of(DistillConfig d) {
            return new Config(d.numDdimTimesteps(), d.loss(), d.huberC(), d.guidanceConvention(), d.timestepScaling(),
                    d.gradientCheckpointing());
        }
    }

    /** Conditioning and clean latents z of one batch (latents already scaled by the VAE scaling factor). */
    public record Batch(NDArray latents, NDArray promptEmbeds, NDArray textEmbeds, NDArray timeIds) {}

    /**
     * The step's random draws, fixed by the caller: DDIM index n per sample, Gaussian noise like the latents,
     * and guidance scale w per sample (in the configured convention).
     */
    public record Draws(long[] index, NDArray noise, float[] w) {}

    /**
     * The loss (with a graph to the LoRA parameters) and, on request, every intermediate under its golden name.
     * Back-propagate it with {@link #backward}, which also completes a checkpointed student pass.
     */
    public record Result(NDArray loss, Map<String, NDArray> intermediates, UNet2DConditionModel.Checkpointed student) {
        /**
         * Back-propagates {@code scaled} (the loss, or the loss times a factor such as 1 / accumulation) into the LoRA
         * parameters' gradients: the collector's backward to the student prediction, then the recomputation of the
         * student's checkpointed segments (nothing more when checkpointing is off).
         */
        public void backward(GradientCollector gc, NDArray scaled) {
            gc.backward(scaled);
            student.backward();
        }
    }

    private final UNet2DConditionModel unet;
    private final Adapters adapters;
    private final NoiseSchedule schedule;
    private final DdimSolver solver;
    private final long topk;
    private final Config config;
    private final PredictionType predictionType;
    private final float[] alpha;
    private final float[] sigma;

    public LcdStep(UNet2DConditionModel unet, Adapters adapters, NoiseSchedule schedule, Config config) {
        this.unet = unet;
        this.adapters = adapters;
        this.schedule = schedule;
        this.config = config;
        this.solver = new DdimSolver(schedule, config.numDdimTimesteps());
        this.topk = DdimSolver.topk(schedule, config.numDdimTimesteps());
        this.predictionType = schedule.config().predictionType();
        this.alpha = schedule.alphaSchedule();
        this.sigma = schedule.sigmaSchedule();
    }

    public Config config() {
        return config;
    }

    public DdimSolver solver() {
        return solver;
    }

    /**
     * Runs steps 1-6 and returns the loss. Call inside an open GradientCollector to train, and back-propagate with
     * {@link Result#backward}; the teacher and target passes run under no-grad whatever the caller's mode (each UNet
     * block freeing its intermediates as it goes), the student with {@link Config#checkpointing()}.
     */
    public Result run(Batch batch, Draws draws, boolean keepIntermediates) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        int b = draws.index().length;
        NDArray z = batch.latents();

        // 1. t_{n+k} = ddim_timesteps[n] ("start") and t_n = max(t_{n+k} - k, 0), with the boundary scalings at both
        //    (scaled t = t * timestep_scaling; the reference script's t / 0.1 equals scaling 10 in float32 for every t)
        long[] tStart = new long[b];
        long[] t = new long[b];
        BoundaryScalings[] sStart = new BoundaryScalings[b];
        BoundaryScalings[] s = new BoundaryScalings[b];
        long[] ddimT = solver.ddimTimesteps();
        for (int i = 0; i < b; i++) {
            tStart[i] = ddimT[(int) draws.index()[i]];
            t[i] = Math.max(tStart[i] - topk, 0);
            sStart[i] = BoundaryScalings.scheduler(tStart[i], config.timestepScaling());
            s[i] = BoundaryScalings.scheduler(t[i], config.timestepScaling());
        }
        NDArray cSkipStart = Coefficients.column(z, BoundaryScalings.cSkips(sStart));
        NDArray cOutStart = Coefficients.column(z, BoundaryScalings.cOuts(sStart));
        NDArray cSkip = Coefficients.column(z, BoundaryScalings.cSkips(s));
        NDArray cOut = Coefficients.column(z, BoundaryScalings.cOuts(s));

        // 2. x_{t_{n+k}} = sqrt(a) z + sqrt(1 - a) eps (DDPM forward process)
        NDArray xStart = schedule.addNoise(z, draws.noise(), tStart);

        NDArray uncondEmbeds = batch.promptEmbeds().zerosLike();
        NDArray uncondPooled = batch.textEmbeds().zerosLike();
        NDArray xPrev;
        NDArray target;
        try (NoGrad ng = NoGrad.open()) {
            // 3. teacher (adapters off): cond and uncond predictions at t_{n+k}, CFG in the LCM form on x0 and eps
            adapters.disable();
            NDArray condOut = predict(xStart, tStart, batch.promptEmbeds(), batch.textEmbeds(), batch.timeIds());
            NDArray uncondOut = predict(xStart, tStart, uncondEmbeds, uncondPooled, batch.timeIds());
            adapters.enable();
            NDArray condX0 = x0(condOut, xStart, tStart);
            NDArray condEps = eps(condOut, xStart, tStart);
            NDArray uncondX0 = x0(uncondOut, xStart, tStart);
            NDArray uncondEps = eps(uncondOut, xStart, tStart);
            float[] w = new float[b];
            for (int i = 0; i < b; i++) {
                w[i] = (float) config.guidance().lcmWeight(draws.w()[i]);
            }
            NDArray wCol = Coefficients.column(z, w);
            NDArray teacherX0 = condX0.add(wCol.mul(condX0.sub(uncondX0)));
            NDArray teacherEps = condEps.add(wCol.mul(condEps.sub(uncondEps)));

            // 4. one DDIM step of the PF-ODE solver: x_{t_n} (alpha_prev in float64, as the reference)
            xPrev = solver.ddimStep(teacherX0, teacherEps, draws.index(), z.getDataType());

            // 5. target = f_theta(x_{t_n}, t_n): the LoRA UNet's consistency function, no gradient
            NDArray targetOut = predict(xPrev, t, batch.promptEmbeds(), batch.textEmbeds(), batch.timeIds());
            NDArray targetX0 = x0(targetOut, xPrev, t);
            target = cSkip.mul(xPrev).add(cOut.mul(targetX0));
            if (keepIntermediates) {
                out.put("teacher_cond_noise_pred", condOut);
                out.put("teacher_cond_pred_x0", condX0);
                out.put("teacher_uncond_noise_pred", uncondOut);
                out.put("teacher_uncond_pred_x0", uncondX0);
                out.put("teacher_pred_x0", teacherX0);
                out.put("teacher_pred_noise", teacherEps);
                out.put("x_prev", xPrev);
                out.put("target_noise_pred", targetOut);
                out.put("target_pred_x0", targetX0);
                out.put("target", target);
            }
        } finally {
            adapters.enable();
        }

        // 6. student f_theta(x_{t_{n+k}}, t_{n+k}) = c_skip x + c_out x0 (the only pass with gradients), loss d(f, target)
        UNet2DConditionModel.Checkpointed student = unet.forwardCheckpointed(
                inputs(xStart, tStart, batch.promptEmbeds(), batch.textEmbeds(), batch.timeIds()), config.checkpointing());
        NDArray studentOut = toLossType(student.output(), xStart);
        NDArray studentX0 = x0(studentOut, xStart, tStart);
        NDArray modelPred = cSkipStart.mul(xStart).add(cOutStart.mul(studentX0));
        NDArray loss = consistencyLoss(config.loss(), modelPred, target, config.huberC());
        if (keepIntermediates) {
            out.put("noisy_model_input", xStart);
            out.put("c_skip_start", cSkipStart);
            out.put("c_out_start", cOutStart);
            out.put("c_skip", cSkip);
            out.put("c_out", cOut);
            out.put("student_noise_pred", studentOut);
            out.put("student_pred_x0", studentX0);
            out.put("model_pred", modelPred);
        }
        return new Result(loss, out, student);
    }

    /** d(f, target): pseudo-Huber {@code mean(sqrt((a - b)^2 + c^2) - c)} or {@code mean((a - b)^2)}. */
    static NDArray consistencyLoss(Loss loss, NDArray pred, NDArray target, double huberC) {
        NDArray d2 = pred.sub(target).square();
        return switch (loss) {
            case L2 -> d2.mean();
            case HUBER -> Ops.addScalar(Ops.addScalar(d2, huberC * huberC).sqrt(), -huberC).mean();
        };
    }

    /** A no-grad UNet pass in its own scope: only the prediction outlives it. */
    private NDArray predict(NDArray x, long[] ts, NDArray context, NDArray pooled, NDArray timeIds) {
        return Scopes.keepOnly(() -> toLossType(unet.forward(inputs(x, ts, context, pooled, timeIds)), x));
    }

    private static UNet2DConditionModel.Inputs inputs(NDArray x, long[] ts, NDArray context, NDArray pooled, NDArray timeIds) {
        double[] d = new double[ts.length];
        for (int i = 0; i < ts.length; i++) {
            d[i] = ts[i];
        }
        return new UNet2DConditionModel.Inputs(x, d, context, pooled, timeIds);
    }

    /** The UNet output in the loss's dtype (fp16 / bf16 -> fp32, inside the graph). */
    private static NDArray toLossType(NDArray y, NDArray x) {
        return Ops.castInGraph(y, switch (x.getDataType()) {
            case FLOAT16, BFLOAT16 -> DataType.FLOAT32;
            default -> x.getDataType();
        });
    }

    private NDArray x0(NDArray out, NDArray x, long[] ts) {
        return Predictions.originalSample(predictionType, out, x, at(alpha, ts), at(sigma, ts));
    }

    private NDArray eps(NDArray out, NDArray x, long[] ts) {
        return Predictions.noise(predictionType, out, x, at(alpha, ts), at(sigma, ts));
    }

    private static float[] at(float[] table, long[] ts) {
        float[] r = new float[ts.length];
        for (int i = 0; i < ts.length; i++) {
            r[i] = table[(int) ts[i]];
        }
        return r;
    }
}
