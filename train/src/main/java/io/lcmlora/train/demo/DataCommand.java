package io.lcmlora.train.demo;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code lcm data emoji|heldout}: the demo's image-caption sets from emoji-datasource tarballs. */
@Command(name = "data", mixinStandardHelpOptions = true,
        description = "Build the demo's emoji image-caption sets (data/fetch_emoji.sh fetches the tarballs).",
        subcommands = {DataCommand.Emoji.class, DataCommand.HeldOutList.class})
public final class DataCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "name a subcommand: 'data emoji' or 'data heldout'");
    }

    /** {@code lcm data emoji --twitter TGZ --google TGZ --out DIR}. */
    @Command(name = "emoji", mixinStandardHelpOptions = true,
            description = "Read the emoji-datasource tarballs and write per style img64/, img32/, manifest.jsonl, manifest-32.jsonl.")
    public static final class Emoji implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--twitter", description = "emoji-datasource-twitter-16.0.0.tgz (base style)")
        Path twitter;

        @Option(names = "--google", description = "emoji-datasource-google-16.0.0.tgz (fine-tune style)")
        Path google;

        @Option(names = "--heldout", defaultValue = "data/heldout.txt", description = "held-out names; default ${DEFAULT-VALUE}")
        Path heldout;

        @Option(names = "--out", required = true, description = "output folder, e.g. data/emoji")
        Path out;

        @Option(names = "--force", description = "rebuild styles whose manifest.jsonl already exists")
        boolean force;

        @Override
        public Integer call() throws IOException {
            Map<String, Path> tarballs = new LinkedHashMap<>();
            if (twitter != null) {
                tarballs.put("twitter", twitter);
            }
            if (google != null) {
                tarballs.put("google", google);
            }
            if (tarballs.isEmpty()) {
                throw new CommandLine.ParameterException(spec.commandLine(), "give --twitter and/or --google");
            }
            PrintWriter o = spec.commandLine().getOut();
            EmojiDataset.build(tarballs, heldout, out, force, line -> {
                o.println(line);
                o.flush();
            });
            return 0;
        }
    }

    /** {@code lcm data heldout --tarball TGZ --out data/heldout.txt}: (re)derives the committed held-out list. */
    @Command(name = "heldout", mixinStandardHelpOptions = true,
            description = "Write the deterministic held-out name list (SHA-256 order) from a tarball's emoji.json.")
    public static final class HeldOutList implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--tarball", required = true, description = "an emoji-datasource tarball")
        Path tarball;

        @Option(names = "--fraction", defaultValue = "0.1", description = "share of names held out; default ${DEFAULT-VALUE}")
        double fraction;

        @Option(names = "--out", required = true, description = "list to write, e.g. data/heldout.txt")
        Path out;

        @Override
        public Integer call() throws IOException {
            List<String> names = new ArrayList<>(EmojiDataset.names(tarball));
            List<String> held = HeldOut.select(names, fraction);
            HeldOut.write(out, held, names.size(), fraction);
            spec.commandLine().getOut().println("wrote " + out + ": " + held.size() + " of " + names.size() + " names");
            return 0;
        }
    }
}
