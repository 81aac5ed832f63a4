package io.lcmlora.train.distill;

import io.lcmlora.train.config.TrainConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** configs/tiny.yaml with every path made absolute (tests run in the module folder) and the run folder redirected. */
final class TinyRun {
    static final Path ROOT = Path.of(System.getProperty("golden.dir")).getParent().getParent();

    private TinyRun() {}

    static List<String> pathOverrides(Path outputDir) {
        List<String> o = new ArrayList<>();
        o.add("model.unet=" + ROOT.resolve("testdata/golden/unet"));
        o.add("model.vae=" + ROOT.resolve("testdata/golden/vae"));
        o.add("model.text_encoder=" + ROOT.resolve("testdata/golden/text_encoders/text_encoder"));
        o.add("model.text_encoder_2=" + ROOT.resolve("testdata/golden/text_encoders/text_encoder_2"));
        o.add("model.tokenizer=" + ROOT.resolve("testdata/tiny-tokenizer/tokenizer"));
        o.add("model.tokenizer_2=" + ROOT.resolve("testdata/tiny-tokenizer/tokenizer_2"));
        o.add("data.paths=[" + ROOT.resolve("testdata/tiny-images") + "]");
        o.add("output_dir=" + outputDir);
        return o;
    }

    static TrainConfig config(Path outputDir, String... overrides) throws IOException {
        List<String> o = pathOverrides(outputDir);
        o.addAll(List.of(overrides));
        return TrainConfig.load(ROOT.resolve("configs/tiny.yaml"), o);
    }

    /**
     * Builds the latent cache of the tiny run in {@code tmp/cache} (the encoders load once, here) for tests whose
     * runs share it with {@code cache.dir}; returns the folder.
     */
    static Path buildCache(Path tmp) throws IOException {
        Path cache = tmp.resolve("cache");
        LatentCache c = LatentCache.openOrBuild(config(tmp.resolve("warm"), "cache.dir=" + cache), cache, () -> {
            try {
                return ConditioningEncoder.load(config(tmp.resolve("warm")).model(), ai.djl.Device.cpu(),
                        ai.djl.ndarray.types.DataType.FLOAT32);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, new java.io.PrintStream(java.io.OutputStream.nullOutputStream()));
        c.close();
        return cache;
    }
}
