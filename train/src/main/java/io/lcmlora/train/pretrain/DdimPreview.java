package io.lcmlora.train.pretrain;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.lcmlora.io.AtomicFiles;
import io.lcmlora.model.clip.SdxlPromptEmbeds;
import io.lcmlora.model.clip.SdxlPromptEncoder;
import io.lcmlora.model.clip.SdxlTimeIds;
import io.lcmlora.model.unet.UNet2DConditionModel;
import io.lcmlora.model.vae.AutoencoderKL;
import io.lcmlora.nn.NoGrad;
import io.lcmlora.nn.Ops;
import io.lcmlora.schedule.DdimScheduler;
import io.lcmlora.schedule.NoiseSchedule;
import io.lcmlora.text.ClipTokenizer;
import io.lcmlora.train.loop.Rng;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;

/**
 * A look at a freshly trained teacher: text-to-image with DDIM (eta 0, SDXL's "leading" spacing) and
 * classifier-free guidance against the all-zero unconditional embeddings (the pipeline's
 * {@code force_zeros_for_empty_prompt} path), decoded by the VAE, laid out as a grid PNG (row-major, the prompts in
 * order, listed in a text file beside it).
 */
final class DdimPreview {
    private DdimPreview() {}

    static void write(Path png, Path captions, UNet2DConditionModel unet, AutoencoderKL vae, SdxlPromptEncoder encoder,
            ClipTokenizer tok1, ClipTokenizer tok2, List<String> prompts, PretrainConfig.Preview p, NoiseSchedule schedule,
            int resolution) throws IOException {
        float[] pixels = sample(unet, vae, encoder, tok1, tok2, prompts, p.steps(), p.guidanceScale(), p.seed(), schedule,
                resolution);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ImageIO.write(grid(pixels, prompts.size(), resolution), "png", bytes);
        Files.createDirectories(png.getParent());
        AtomicFiles.writeBytes(png, bytes.toByteArray());
        AtomicFiles.writeString(captions, String.join("\n", prompts) + "\n");
    }

    /** Images [n, 3, S, S] in [-1, 1] (not clamped), host-side. */
    static float[] sample(UNet2DConditionModel unet, AutoencoderKL vae, SdxlPromptEncoder encoder, ClipTokenizer tok1,
            ClipTokenizer tok2, List<String> prompts, int steps, double guidance, long seed, NoiseSchedule schedule,
            int resolution) {
        boolean cfg = guidance > 1;
        int n = prompts.size();
        int f = vae.config().downscale();
        try (NoGrad ng = NoGrad.open(); NDManager m = NDManager.newBaseManager()) {
            SdxlPromptEmbeds e = encoder.encode(m, tok1::encode, tok2::encode,
                    new SdxlPromptEncoder.Prompts(prompts, null, null, null), new SdxlPromptEncoder.Options(cfg, null, 1));
            NDArray context = cfg ? NDArrays.concat(new NDList(e.negativePromptEmbeds(), e.promptEmbeds())) : e.promptEmbeds();
            NDArray pooled = cfg ? NDArrays.concat(new NDList(e.negativePooledPromptEmbeds(), e.pooledPromptEmbeds()))
                    : e.pooledPromptEmbeds();
            NDArray timeIds = SdxlTimeIds.forImage(resolution, resolution).toArray(m, cfg ? 2 * n : n);
            NDArray x = Rng.stream(seed, "preview").randn(m,
                    new Shape(n, vae.config().latentChannels(), resolution / f, resolution / f));
            DdimScheduler ddim = DdimScheduler.create(schedule, steps);
            for (long t : ddim.timesteps()) {
                NDArray in = cfg ? NDArrays.concat(new NDList(x, x)) : x;
                NDArray out = unet.forward(new UNet2DConditionModel.Inputs(in, new double[] {t}, context, pooled, timeIds));
                NDArray eps = out;
                if (cfg) {
                    NDList halves = out.split(2, 0); // [2n, C, h, w] -> uncond, cond
                    eps = halves.get(0).add(Ops.mulScalar(halves.get(1).sub(halves.get(0)), guidance));
                }
                x = ddim.step(eps, t, x);
            }
            return vae.decode(Ops.mulScalar(x, 1.0 / vae.config().scalingFactor())).toFloatArray();
        }
    }

    /** Images [n, 3, S, S] in [-1, 1] as a near-square grid of 8-bit RGB tiles. */
    static BufferedImage grid(float[] pixels, int n, int s) {
        int cols = (int) Math.ceil(Math.sqrt(n));
        int rows = (n + cols - 1) / cols;
        BufferedImage img = new BufferedImage(cols * s, rows * s, BufferedImage.TYPE_INT_RGB);
        int plane = s * s;
        for (int k = 0; k < n; k++) {
            int x0 = (k % cols) * s;
            int y0 = (k / cols) * s;
            for (int i = 0; i < plane; i++) {
                int r = byteOf(pixels[k * 3 * plane + i]);
                int g = byteOf(pixels[k * 3 * plane + plane + i]);
                int b = byteOf(pixels[k * 3 * plane + 2 * plane + i]);
                img.setRGB(x0 + i % s, y0 + i / s, (r << 16) | (g << 8) | b);
            }
        }
        return img;
    }

    /** diffusers' {@code round(clamp(x / 2 + 0.5, 0, 1) * 255)}. */
    static int byteOf(float v) {
        return (int) Math.round(Math.max(0, Math.min(1, v / 2 + 0.5)) * 255);
    }
}
