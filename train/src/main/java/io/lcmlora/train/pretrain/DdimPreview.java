package io.lcmlora.train.pretrain;

import io.lcmlora.io.AtomicFiles;
import io.lcmlora.pipeline.GenerationRequest;
import io.lcmlora.pipeline.LoadOptions;
import io.lcmlora.pipeline.SdxlModel;
import io.lcmlora.pipeline.SdxlPipeline;
import io.lcmlora.schedule.SchedulerKind;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;

/**
 * A look at a freshly written teacher folder through the toolkit's own {@link SdxlPipeline}: text-to-image with
 * DDIM and classifier-free guidance (the unconditional branch is the all-zero embedding, as the teacher was
 * trained), one image per prompt (seed {@code seed}), laid out row-major as a near-square grid PNG, with the
 * prompts listed in a text file beside it.
 */
final class DdimPreview {
    private DdimPreview() {}

    static void write(Path folder, Path png, Path captions, List<String> prompts, PretrainConfig.Preview p) throws IOException {
        List<BufferedImage> images = new ArrayList<>();
        try (SdxlModel model = SdxlModel.load(folder, LoadOptions.cpu()); SdxlPipeline pipe = new SdxlPipeline(model)) {
            for (String prompt : prompts) {
                GenerationRequest r = GenerationRequest.of(prompt).withScheduler(SchedulerKind.DDIM, null)
                        .withSteps(p.steps()).withGuidance(p.guidanceScale()).withSeed(p.seed());
                images.add(pipe.generate(r).get(0).image());
            }
        }
        BufferedImage grid = grid(images);
        AtomicFiles.write(png, os -> ImageIO.write(grid, "png", os));
        AtomicFiles.writeString(captions, String.join("\n", prompts) + "\n");
    }

    /** Equal-size images as a near-square grid, row-major. */
    static BufferedImage grid(List<BufferedImage> images) {
        int n = images.size();
        int w = images.get(0).getWidth();
        int h = images.get(0).getHeight();
        int cols = (int) Math.ceil(Math.sqrt(n));
        int rows = (n + cols - 1) / cols;
        BufferedImage grid = new BufferedImage(cols * w, rows * h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = grid.createGraphics();
        for (int k = 0; k < n; k++) {
            g.drawImage(images.get(k), (k % cols) * w, (k / cols) * h, null);
        }
        g.dispose();
        return grid;
    }
}
