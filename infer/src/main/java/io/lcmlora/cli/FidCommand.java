package io.lcmlora.cli;

import io.lcmlora.eval.FeatureStats;
import io.lcmlora.eval.FidStats;
import io.lcmlora.eval.InceptionV3Fid;
import io.lcmlora.eval.Preprocessing;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code lcm fid stats|distance}: FID statistics of an image folder, and the distance between two stats files. */
@Command(name = "fid", mixinStandardHelpOptions = true,
        description = "Fréchet Inception Distance: feature statistics of image folders and the distance between them.",
        subcommands = {FidCommand.Stats.class, FidCommand.Distance.class})
public final class FidCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "name a subcommand: 'fid stats' or 'fid distance'");
    }

    /** {@code lcm fid stats --images DIR --weights FILE --out STATS}. */
    @Command(name = "stats", mixinStandardHelpOptions = true,
            description = "Compute mu, sigma (float64) and the sample count of a folder's PNG/JPEG images.")
    public static final class Stats implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--images", required = true, description = "folder of .png/.jpg images (not recursive)")
        Path images;

        @Option(names = "--out", required = true, description = "stats file to write (.safetensors)")
        Path out;

        @Option(names = "--weights", required = true,
                description = "FID InceptionV3 weights, safetensors with pytorch-fid's names (tools/convert_inception_weights.py)")
        Path weights;

        @Option(names = "--dims", defaultValue = "2048", description = "64, 192, 768 or 2048 (pool3); default ${DEFAULT-VALUE}")
        int dims;

        @Option(names = "--preprocessing", defaultValue = "pytorch-fid",
                description = "pytorch-fid (bilinear) or clean-fid (PIL bicubic); default ${DEFAULT-VALUE}")
        String preprocessing;

        @Option(names = "--batch-size", defaultValue = "16", description = "images per forward pass; default ${DEFAULT-VALUE}")
        int batchSize;

        @Override
        public Integer call() throws IOException {
            PrintWriter err = spec.commandLine().getErr();
            FeatureStats s = run(images, weights, out, dims, Preprocessing.parse(preprocessing), batchSize, err);
            PrintWriter o = spec.commandLine().getOut();
            o.println("wrote " + out + ": " + s.count() + " samples, " + s.dim() + " dims, " + s.extractor());
            if (s.count() < s.dim()) {
                o.println("warning: " + s.count() + " samples < " + s.dim()
                        + " dims: the covariance is singular and FID from these stats is unreliable");
            }
            o.flush();
            return 0;
        }

        /** Computes and writes the stats of {@code images}; {@code log} (may be null) gets progress lines. */
        public static FeatureStats run(Path images, Path weights, Path out, int dims, Preprocessing preprocessing,
                int batchSize, PrintWriter log) throws IOException {
            try (InceptionV3Fid net = InceptionV3Fid.load(weights, dims, preprocessing)) {
                FeatureStats s = FidStats.ofFolder(images, net, batchSize, log == null ? null : line -> {
                    log.println(line);
                    log.flush();
                });
                s.save(out);
                return s;
            }
        }
    }

    /** {@code lcm fid distance A B}: prints the FID and the report to stdout. */
    @Command(name = "distance", mixinStandardHelpOptions = true,
            description = "Print the FID between two stats files, with both sample counts and any warnings.")
    public static final class Distance implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(index = "0", description = "stats file A (the reference)")
        Path a;

        @Parameters(index = "1", description = "stats file B")
        Path b;

        @Override
        public Integer call() throws IOException {
            PrintWriter o = spec.commandLine().getOut();
            for (String line : run(a, b).lines()) {
                o.println(line);
            }
            o.flush();
            return 0;
        }

        public static FidStats.Report run(Path a, Path b) throws IOException {
            return FidStats.compare(FeatureStats.load(a), FeatureStats.load(b));
        }
    }
}
