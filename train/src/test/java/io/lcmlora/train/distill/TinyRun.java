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
}
