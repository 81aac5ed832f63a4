package io.lcmlora.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonParser;
import io.lcmlora.io.SafeTensorsFile;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code lcm tokenize} prints the golden ids. */
class TokenizeCommandTest {
    static final Path GOLDEN = Path.of(System.getProperty("golden.dir")).resolve("tokenizer");

    static String[] execute(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new TokenizeCommand());
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        assertEquals(0, code, err.toString());
        return out.toString().split("\n");
    }

    /** Golden ids of one row as the CLI prints them; unpadded = up to the last eos before the padding. */
    static String goldenLine(String tensor, int row, int printed) throws Exception {
        try (SafeTensorsFile f = SafeTensorsFile.open(GOLDEN.resolve("cases.safetensors"))) {
            long[] ids = Arrays.copyOfRange(f.longs(tensor), row * 77, row * 77 + 77);
            return Arrays.stream(ids).limit(printed).mapToObj(Long::toString).collect(Collectors.joining(" "));
        }
    }

    @Test
    void printsGoldenIdsOneLinePerText() throws Exception {
        JsonArray prompts = JsonParser.parseString(Files.readString(GOLDEN.resolve("prompts.json"))).getAsJsonArray();
        int[] rows = {0, 104, 116, 126, 155};
        String[] texts = Arrays.stream(rows).mapToObj(r -> prompts.get(r).getAsJsonObject().get("prompt").getAsString())
                .toArray(String[]::new);
        String[] args = new String[texts.length + 2];
        args[0] = "--tokenizer";
        args[1] = GOLDEN.toString();
        System.arraycopy(texts, 0, args, 2, texts.length);
        String[] lines = execute(args);
        assertEquals(rows.length, lines.length);
        for (int i = 0; i < rows.length; i++) {
            assertEquals(goldenLine("input_ids_1", rows[i], 77), lines[i], "row " + rows[i]);
        }
        // row 155 "wow!": 2 content tokens in tokenizer_2 (num_tokens_2), so 4 ids unpadded
        String[] bundled2 = execute("--sdxl", "2", "--no-pad", texts[4]);
        assertEquals(goldenLine("input_ids_2", rows[4], 4), bundled2[0]);
        assertEquals("49406 2781 0 49407", bundled2[0]);
    }

    @Test
    void maxLengthOverridesTheConfig() {
        String[] lines = execute("--tokenizer", GOLDEN.toString(), "--max-length", "5", "a photo of a cat", "");
        assertEquals("49406 320 1125 539 49407", lines[0]);
        assertEquals("49406 49407 49407 49407 49407", lines[1]);
        String[] unpadded = execute("--tokenizer", GOLDEN.toString(), "--no-pad", "");
        assertEquals("49406 49407", unpadded[0]);
    }

    @Test
    void missingVocabularyIsAClearError() {
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new TokenizeCommand());
        cl.setErr(new PrintWriter(err));
        cl.setExecutionExceptionHandler((ex, c, parsed) -> {
            c.getErr().println(ex.getMessage());
            return 1;
        });
        assertEquals(1, cl.execute("--tokenizer", GOLDEN.resolve("tokenizer_2").toString(), "x"));
        assertTrue(err.toString().contains("vocab.json: missing"), err.toString());
    }
}
