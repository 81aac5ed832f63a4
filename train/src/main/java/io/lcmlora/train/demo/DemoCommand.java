package io.lcmlora.train.demo;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code lcm demo}: the whole emoji demo ({@link DemoRun}: fetch, data, teacher, distill, eval, report), resuming after
 * the last finished stage; {@code lcm demo train-classifier} is one of its stages on its own.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Run the embedded emoji demo end to end (fetch, data, teacher, LCM-LoRA distillation, FID sweep, "
                + "table and grids); stages whose outputs exist are skipped.",
        subcommands = {DemoCommand.TrainClassifier.class, DemoCommand.StyleFid.class})
public final class DemoCommand implements Callable<Integer> {
    /**
     * Held-out prompts per style by default: 0, every held-out caption both styles have (351), with the images per
     * prompt and the settings of {@code configs/demo/eval-*.yaml} sized to fit the 20-minute budget on 2 cores (README,
     * demo section, has the arithmetic and the measured run). {@code --fast} takes 8.
     */
    static final int PROMPTS = 0;
    static final int FAST_PROMPTS = 8;

    @Option(names = "--out", defaultValue = "runs/demo", description = "output folder; default ${DEFAULT-VALUE}")
    Path out;

    @Option(names = "--from-scratch", description = "train the classifier and both teachers (lcm pretrain) instead of "
            + "copying the weights shipped in data/demo-weights (adds tens of minutes on 2 cores)")
    boolean fromScratch;

    @Option(names = "--prompts", description = "held-out prompts per style in the FID sweep, chosen by caption; "
            + "default 0 = every held-out caption both styles have (351); N picks N of them evenly")
    Integer prompts;

    @Option(names = "--fast", description = "a quicker, noisier sweep: " + FAST_PROMPTS + " prompts per style")
    boolean fast;

    @Option(names = "--ddim-steps", split = ",", paramLabel = "N,N,...", description = "the teacher's DDIM step counts "
            + "(default: configs/demo/eval-*.yaml's 1,2,4,50); must include 2, 4 and 50, which the report uses; "
            + "1,2,4,8,25,50 adds the curve's flat part (by the measured s/image about 6 more minutes of sweeps per style, "
            + "so about 6 more minutes of wall time on the two workers)")
    List<Integer> ddimSteps;

    @Option(names = "--lcm-steps", split = ",", paramLabel = "N,N,...", description = "the LCM-LoRA's step counts "
            + "(default: configs/demo/eval-*.yaml's 1,2,4); must include 2 and 4, which the report uses")
    List<Integer> lcmSteps;

    @Override
    public Integer call() throws IOException {
        int n = prompts != null ? prompts : fast ? FAST_PROMPTS : PROMPTS;
        DemoRun.oneEngineThread();
        new DemoRun(new DemoPaths(Path.of("").toAbsolutePath(), out.toAbsolutePath()),
                new DemoRun.Options(fromScratch, n, ddimSteps, lcmSteps), System.out).run();
        return 0;
    }

    /** {@code lcm demo train-classifier --data data/emoji --out runs/demo/classifier}. */
    @Command(name = "train-classifier", mixinStandardHelpOptions = true,
            description = "Train the emoji category classifier whose pooled features are the demo's FID features.")
    public static final class TrainClassifier implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--data", defaultValue = "data/emoji", description = "built emoji sets; default ${DEFAULT-VALUE}")
        Path data;

        @Option(names = "--styles", split = ",", defaultValue = "twitter,google", description = "styles to train on; default ${DEFAULT-VALUE}")
        List<String> styles;

        @Option(names = "--out", defaultValue = "runs/demo/classifier", description = "classifier folder; default ${DEFAULT-VALUE}")
        Path out;

        @Option(names = "--epochs", defaultValue = "10", description = "default ${DEFAULT-VALUE}")
        int epochs;

        @Option(names = "--batch-size", defaultValue = "64", description = "default ${DEFAULT-VALUE}")
        int batchSize;

        @Option(names = "--lr", defaultValue = "3e-3", description = "AdamW peak learning rate (cosine to 0); default ${DEFAULT-VALUE}")
        double lr;

        @Option(names = "--seed", defaultValue = "0", description = "default ${DEFAULT-VALUE}")
        long seed;

        @Option(names = "--style-weight", defaultValue = "1.0", description = "weight of the style head's cross-entropy "
                + "(it makes the FID features see style); 0 = no style head; default ${DEFAULT-VALUE}")
        double styleWeight;

        @Option(names = "--force", description = "train even if the folder already holds a classifier")
        boolean force;

        @Override
        public Integer call() throws IOException {
            PrintWriter o = spec.commandLine().getOut();
            if (!force && Files.isRegularFile(out.resolve("config.json")) && Files.isRegularFile(out.resolve("model.safetensors"))) {
                o.println("classifier: " + out + " exists, skipping (--force to retrain)");
                return 0;
            }
            ClassifierTrainer.Result r = ClassifierTrainer.train(data, styles, out,
                    new ClassifierTrainer.Options(epochs, batchSize, lr, 1e-4, seed, styleWeight), line -> {
                        o.println(line);
                        o.flush();
                    });
            o.printf(Locale.ROOT, "classifier: wrote %s; held-out accuracy: category %.3f, subcategory %.3f (%d images); %.1f s%n",
                    out, r.heldoutCategoryAccuracy(), r.heldoutSubcategoryAccuracy(), r.heldoutImages(), r.seconds());
            if (r.heldout() != null) {
                StyleFid.print(o, styles, r.heldout());
            }
            return 0;
        }
    }

    /** {@code lcm demo style-fid --classifier DIR}: how far apart a classifier's FID features put the two styles. */
    @Command(name = "style-fid", mixinStandardHelpOptions = true,
            description = "FID between the held-out images of two styles on a classifier's features (the same emoji "
                    + "names drawn by two vendors: the larger, the more the features see style), with its category and "
                    + "style accuracy on them.")
    public static final class StyleFid implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--classifier", defaultValue = "data/demo-weights/classifier",
                description = "classifier folder; default ${DEFAULT-VALUE}")
        Path classifier;

        @Option(names = "--data", defaultValue = "data/emoji", description = "built emoji sets; default ${DEFAULT-VALUE}")
        Path data;

        @Option(names = "--styles", split = ",", defaultValue = "twitter,google", description = "the two styles; default ${DEFAULT-VALUE}")
        List<String> styles;

        @Override
        public Integer call() throws IOException {
            DemoRun.oneEngineThread();
            PrintWriter o = spec.commandLine().getOut();
            print(o, styles, ClassifierTrainer.separation(data, styles, classifier));
            return 0;
        }

        static void print(PrintWriter o, List<String> styles, ClassifierTrainer.Separation s) {
            o.printf(Locale.ROOT, "style FID %s vs %s (held-out, %d vs %d images): %.2f%n", styles.get(0), styles.get(1),
                    s.samplesA(), s.samplesB(), s.styleFid());
            o.printf(Locale.ROOT, "held-out category accuracy %.3f, style accuracy %s%n", s.categoryAccuracy(),
                    Double.isNaN(s.styleAccuracy()) ? "n/a (no style head)" : String.format(Locale.ROOT, "%.3f", s.styleAccuracy()));
            o.flush();
        }
    }
}
