package io.lcmlora.cli;

import io.lcmlora.text.ClipTokenizer;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code lcm tokenize --tokenizer DIR TEXT...}: prints the CLIP token ids of each text, one line per text. */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = "Print the CLIP token ids of each TEXT (one line per text, ids separated by spaces), as SDXL's "
                + "pipeline computes them: bos, content, eos, padded to the max length.")
public final class TokenizeCommand implements Callable<Integer> {
    static final class Source {
        @Option(names = "--tokenizer", paramLabel = "DIR",
                description = "A tokenizer folder (vocab.json, merges.txt, tokenizer_config.json, special_tokens_map.json),"
                        + " e.g. an SDXL model's tokenizer/ or tokenizer_2/.")
        Path dir;

        @Option(names = "--sdxl", paramLabel = "1|2",
                description = "Use the bundled SDXL tokenizer 1 (pads with <|endoftext|>) or 2 (pads with !).")
        Integer bundled;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    @Option(names = "--no-pad", description = "Print bos, content and eos only (still truncated).")
    boolean noPad;

    @Option(names = "--max-length", paramLabel = "N",
            description = "Context length (default: model_max_length of tokenizer_config.json, 77 for CLIP).")
    Integer maxLength;

    @Parameters(paramLabel = "TEXT", arity = "1..*", description = "Prompts to tokenize.")
    List<String> texts;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        ClipTokenizer tok = source.dir != null ? ClipTokenizer.load(source.dir) : ClipTokenizer.sdxlBundled(source.bundled);
        run(tok, texts, !noPad, maxLength, spec.commandLine().getOut());
        return 0;
    }

    /** The command's work: one line of ids per text. */
    public static void run(ClipTokenizer tok, List<String> texts, boolean pad, Integer maxLength, PrintWriter out) {
        ClipTokenizer t = maxLength == null ? tok : tok.withMaxLength(maxLength);
        for (String text : texts) {
            int[] ids = pad ? t.encode(text) : t.encodeUnpadded(text);
            out.println(IntStream.of(ids).mapToObj(Integer::toString).collect(Collectors.joining(" ")));
        }
        out.flush();
    }
}
