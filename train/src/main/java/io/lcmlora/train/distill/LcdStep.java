package io.lcmlora.train.distill;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import io.lcmlora.lora.Adapters;
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
     */
    public record Config(int numDdimTimesteps, LossType loss, double huberC, GuidanceConvention guidance) {
        public Config {
            if (numDdimTimesteps < 1 || numDdimTimesteps > 1000) {
                throw new IllegalArgumentException("num_ddim_timesteps must be in [1, 1000], got " + numDdimTimesteps);
            }
            if (!(huberC > 0)) {
                throw new IllegalArgumentException("huber_c must be > 0, got " + huberC);
            }
        }

        /** The reference recipe: N = 50, Huber with c = 0.001, the script's (LCM-form) guidance. */
        public static Config reference() {
            return new Config(50, LossType.HUBER, 0.001, GuidanceConvention.LCM);
        }
    }

    /** Conditioning and clean latents z of one batch (latents already scaled by the VAE scaling factor). */
    public record Batch(NDArray latents, NDArray promptEmbeds, NDArray textEmbeds, NDArray timeIds) {}

    /**
     * The step's random draws, fixed by the caller: DDIM index n per sample, Gaussian noise like the latents,
     * and guidance scale w per sample (in the configured convention).
     */
    public record Draws(long[] index, NDArray noise, float[] w) {}

    /** The loss (with a graph to the LoRA parameters) and, on request, every intermediate under its golden name. */
    public record Result(NDArray loss, Map<String, NDArray> intermediates) {}

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
     * Runs steps 1-6 and returns the loss. Call inside an open GradientCollector to train; the teacher and target
     * passes run under no-grad whatever the caller's mode.
     */
    public Result run(Batch batch, Draws draws, boolean keepIntermediates) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        int b = draws.index().length;
        NDArray z = batch.latents();

        // 1. t_{n+k} = ddim_timesteps[n] ("start") and t_n = max(t_{n+k} - k, 0), with the boundary scalings at both
        long[] tStart = new long[b];
        long[] t = new long[b];
        BoundaryScalings[] sStart = new BoundaryScalings[b];
        BoundaryScalings[] s = new BoundaryScalings[b];
        long[] ddimT = solver.ddimTimesteps();
        for (int i = 0; i < b; i++) {
            tStart[i] = ddimT[(int) draws.index()[i]];
            t[i] = Math.max(tStart[i] - topk, 0);
            sStart[i] = BoundaryScalings.script(tStart[i]);
            s[i] = BoundaryScalings.script(t[i]);
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
        NDArray studentOut = predict(xStart, tStart, batch.promptEmbeds(), batch.textEmbeds(), batch.timeIds());
        NDArray studentX0 = x0(studentOut, xStart, tStart);
        NDArray modelPred = cSkipStart.mul(xStart).add(cOutStart.mul(studentX0));
        NDArray loss = config.loss().apply(modelPred, target, config.huberC());
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
        return new Result(loss, out);
    }

    private NDArray predict(NDArray x, long[] ts, NDArray context, NDArray pooled, NDArray timeIds) {
        double[] d = new double[ts.length];
        for (int i = 0; i < ts.length; i++) {
            d[i] = ts[i];
        }
        // one scope per UNet pass: only the prediction outlives it (with gradients, autograd holds what backward needs)
        return Scopes.keepOnly(() -> {
            NDArray y = unet.forward(new UNet2DConditionModel.Inputs(x, d, context, pooled, timeIds));
            return Ops.castInGraph(y, x.getDataType() == DataType.FLOAT16 ? DataType.FLOAT32 : x.getDataType());
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
