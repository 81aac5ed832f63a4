package io.lcmlora.train.demo;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code lcm demo ...}: the stages of the emoji demo that are specific to it. */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Stages of the embedded emoji demo.",
        subcommands = {DemoCommand.TrainClassifier.class})
public final class DemoCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "name a subcommand, e.g. 'demo train-classifier'");
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

        @Option(names = "--epochs", defaultValue = "5", description = "default ${DEFAULT-VALUE}")
        int epochs;

        @Option(names = "--batch-size", defaultValue = "64", description = "default ${DEFAULT-VALUE}")
        int batchSize;

        @Option(names = "--lr", defaultValue = "3e-3", description = "AdamW peak learning rate (cosine to 0); default ${DEFAULT-VALUE}")
        double lr;

        @Option(names = "--seed", defaultValue = "0", description = "default ${DEFAULT-VALUE}")
        long seed;

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
                    new ClassifierTrainer.Options(epochs, batchSize, lr, 1e-4, seed), line -> {
                        o.println(line);
                        o.flush();
                    });
            o.printf("classifier: wrote %s; held-out accuracy: category %.3f, subcategory %.3f (%d images); %.1f s%n",
                    out, r.heldoutCategoryAccuracy(), r.heldoutSubcategoryAccuracy(), r.heldoutImages(), r.seconds());
            return 0;
        }
    }
}
