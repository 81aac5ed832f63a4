package io.lcmlora.train.distill;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.lcmlora.model.clip.SdxlPromptEmbeds;
import io.lcmlora.model.unet.UNet2DConditionModel;
import io.lcmlora.nn.NoGrad;
import io.lcmlora.nn.Ops;
import io.lcmlora.schedule.LcmScheduler;
import io.lcmlora.schedule.NoiseSchedule;
import io.lcmlora.train.config.TrainConfig;
import io.lcmlora.train.config.ValidationConfig;
import io.lcmlora.train.loop.Rng;
import java.awt.image.BufferedImage;
import java.io.IOException;

/**
 * Validation images with the LoRA being trained (the reference script's {@code log_validation}): every prompt of
 * {@code validation.prompts}, {@code images_per_prompt} images each, sampled with the LCM scheduler in
 * {@code validation.steps} steps at the training resolution, from the same seeded noise every time (so the grids
 * of successive validations differ by the LoRA alone). Classifier-free guidance only when guidance_scale &gt; 1 (the
 * reference uses none). The VAE and text encoders are loaded at the first validation and kept until {@link #close()}.
 * The grid has one row per prompt.
 */
public final class LcmValidator implements AutoCloseable {
    private final TrainConfig config;
    private final NoiseSchedule schedule;
    private ConditioningEncoder encoders;

    public LcmValidator(TrainConfig config, NoiseSchedule schedule) {
        this.config = config;
        this.schedule = schedule;
    }

    /** Samples the validation prompts with the UNet as it is now (its attached LoRA included) and returns the grid. */
    public BufferedImage render(UNet2DConditionModel unet, NDManager nd) throws IOException {
        ValidationConfig v = config.validation();
        if (encoders == null) {
            encoders = ConditioningEncoder.load(config.model(), nd.getDevice(), unet.dtype());
        }
        int n = v.imagesPerPrompt();
        int p = v.prompts().size();
        boolean cfg = v.guidanceScale() > 1;
        int res = config.data().resolution();
        int h = res / encoders.downscale();
        try (NDScope scope = new NDScope(); NoGrad ng = NoGrad.open()) {
            SdxlPromptEmbeds pe = encoders.encodePrompts(nd, v.prompts(), cfg, n);
            NDArray context = pe.promptEmbeds().toDevice(nd.getDevice(), false); // [P*n, T, D]
            NDArray pooled = pe.pooledPromptEmbeds().toDevice(nd.getDevice(), false); // [P*n, Pd]
            if (cfg) {
                context = NDArrays.concat(new NDList(pe.negativePromptEmbeds().toDevice(nd.getDevice(), false), context), 0);
                pooled = NDArrays.concat(new NDList(pe.negativePooledPromptEmbeds().toDevice(nd.getDevice(), false), pooled), 0);
            }
            int rows = (int) context.getShape().get(0);
            float[] ids = new float[6 * rows];
            for (int i = 0; i < rows; i++) {
                System.arraycopy(new float[] {res, res, 0, 0, res, res}, 0, ids, 6 * i, 6);
            }
            NDArray timeIds = nd.create(ids, new Shape(rows, 6));
            Rng rng = Rng.stream(config.seed(), "validation");
            Shape latent = new Shape((long) p * n, unet.config().inChannels(), h, h);
            NDArray x = rng.randn(nd, latent); // init_noise_sigma = 1 for LCM
            LcmScheduler lcm = LcmScheduler.create(schedule, v.steps());
            for (long t : lcm.timesteps()) {
                NDArray in = cfg ? NDArrays.concat(new NDList(x, x), 0) : x;
                NDArray out = unet.forward(new UNet2DConditionModel.Inputs(in, new double[] {t}, context, pooled, timeIds));
                out = Ops.castInGraph(out, DataType.FLOAT32);
                if (cfg) {
                    NDList parts = out.split(2, 0);
                    out = parts.get(0).add(Ops.mulScalar(parts.get(1).sub(parts.get(0)), v.guidanceScale()));
                }
                NDArray noise = lcm.needsNoise(t) ? rng.randn(nd, latent) : null;
                x = lcm.step(out, t, x, noise).prevSample();
            }
            NDArray images = encoders.decode(x); // [P*n, 3, H, W] in [-1, 1]
            return grid(images.toFloatArray(), p, n, (int) images.getShape().get(2), (int) images.getShape().get(3));
        }
    }

    /** [rows*cols, 3, H, W] in [-1, 1] -> an RGB grid of rows x cols tiles. */
    static BufferedImage grid(float[] chw, int rows, int cols, int height, int width) {
        BufferedImage img = new BufferedImage(cols * width, rows * height, BufferedImage.TYPE_INT_RGB);
        int plane = height * width;
        for (int k = 0; k < rows * cols; k++) {
            int base = k * 3 * plane;
            for (int y = 0; y < height; y++) {
                for (int x = 0; x < width; x++) {
                    int rgb = 0;
                    for (int c = 0; c < 3; c++) {
                        float v = chw[base + c * plane + y * width + x];
                        int u = Math.round((v + 1) / 2 * 255);
                        rgb = (rgb << 8) | Math.max(0, Math.min(255, u));
                    }
                    img.setRGB((k % cols) * width + x, (k / cols) * height + y, rgb);
                }
            }
        }
        return img;
    }

    @Override
    public void close() {
        if (encoders != null) {
            encoders.close();
        }
    }
}
