package io.lcmlora.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import io.lcmlora.io.SafeTensorsFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Parity with testdata/golden/tokenizer (transformers' slow CLIPTokenizer, no ftfy) and edge cases. */
class ClipTokenizerTest {
    static final Path GOLDEN = Path.of(System.getProperty("golden.dir")).resolve("tokenizer");
    static List<String> prompts;
    static long[][] ids1;
    static long[][] ids2;
    static long[] num1;
    static long[] num2;
    static ClipTokenizer tok1;
    static ClipTokenizer tok2;

    @BeforeAll
    static void loadGolden(@TempDir Path tmp) throws IOException {
        JsonArray arr = JsonParser.parseString(Files.readString(GOLDEN.resolve("prompts.json"))).getAsJsonArray();
        prompts = new ArrayList<>();
        for (JsonElement e : arr) {
            assertEquals(prompts.size(), e.getAsJsonObject().get("index").getAsInt());
            prompts.add(e.getAsJsonObject().get("prompt").getAsString());
        }
        try (SafeTensorsFile f = SafeTensorsFile.open(GOLDEN.resolve("cases.safetensors"))) {
            ids1 = rows(f.longs("input_ids_1"), 77);
            ids2 = rows(f.longs("input_ids_2"), 77);
            num1 = f.longs("num_tokens_1");
            num2 = f.longs("num_tokens_2");
        }
        tok1 = ClipTokenizer.load(GOLDEN);
        tok2 = ClipTokenizer.load(tokenizer2Folder(tmp));
    }

    /** tokenizer_2 as diffusers lays it out: its configs plus the shared vocab.json and merges.txt. */
    static Path tokenizer2Folder(Path tmp) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("tokenizer_2"));
        for (String f : new String[] {"tokenizer_config.json", "special_tokens_map.json"}) {
            Files.copy(GOLDEN.resolve("tokenizer_2").resolve(f), dir.resolve(f));
        }
        for (String f : new String[] {"vocab.json", "merges.txt"}) {
            Files.copy(GOLDEN.resolve(f), dir.resolve(f));
        }
        return dir;
    }

    static long[][] rows(long[] flat, int width) {
        long[][] out = new long[flat.length / width][];
        for (int i = 0; i < out.length; i++) {
            out[i] = Arrays.copyOfRange(flat, i * width, (i + 1) * width);
        }
        return out;
    }

    static long[] longs(int[] a) {
        return Arrays.stream(a).asLongStream().toArray();
    }

    @Test
    void everyGoldenPromptMatchesBothTokenizers() {
        assertEquals(174, prompts.size());
        List<Integer> bad1 = new ArrayList<>();
        List<Integer> bad2 = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            String p = prompts.get(i);
            if (!Arrays.equals(ids1[i], longs(tok1.encode(p))) || num1[i] != tok1.countTokens(p)) {
                bad1.add(i);
            }
            if (!Arrays.equals(ids2[i], longs(tok2.encode(p))) || num2[i] != tok2.countTokens(p)) {
                bad2.add(i);
            }
        }
        System.out.printf("tokenizer golden parity: tokenizer %d/%d, tokenizer_2 %d/%d rows identical%n",
                prompts.size() - bad1.size(), prompts.size(), prompts.size() - bad2.size(), prompts.size());
        assertEquals(List.of(), bad1, "tokenizer rows differing from golden");
        assertEquals(List.of(), bad2, "tokenizer_2 rows differing from golden");
    }

    @Test
    void batchEncodeMatchesGolden() {
        assertArrayEquals(ids1, tok1.encode(prompts));
        assertArrayEquals(ids2, tok2.encode(prompts));
    }

    @Test
    void tokensMatchGoldenBpeStrings() {
        JsonArray arr;
        try {
            arr = JsonParser.parseString(Files.readString(GOLDEN.resolve("prompts.json"))).getAsJsonArray();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        int checked = 0;
        for (JsonElement e : arr) {
            JsonArray bpe = e.getAsJsonObject().getAsJsonArray("bpe_1");
            List<String> want = new ArrayList<>();
            bpe.forEach(t -> want.add(t.getAsString()));
            List<String> got = tok1.tokens(e.getAsJsonObject().get("prompt").getAsString());
            assertEquals(want, got.subList(0, Math.min(got.size(), want.size())), "row " + checked);
            checked++;
        }
        assertEquals(174, checked);
    }

    @Test
    void framingAndPadIds() {
        assertEquals(49406, tok1.bosId());
        assertEquals(49407, tok1.eosId());
        assertEquals(49407, tok1.padId());
        assertEquals(0, tok2.padId());
        assertEquals(49407, tok2.eosId());
        assertEquals(77, tok1.maxLength());
        assertEquals(77, tok2.maxLength());
        int[] empty = tok2.encode("");
        assertEquals(77, empty.length);
        assertEquals(49406, empty[0]);
        assertEquals(49407, empty[1]);
        for (int i = 2; i < 77; i++) {
            assertEquals(0, empty[i]);
        }
        assertArrayEquals(new int[] {49406, 49407}, tok1.encodeUnpadded(" \t\n\u3000 "));
        assertArrayEquals(new int[] {49406, 320, 1125, 539, 320, 2368, 49407}, tok1.encodeUnpadded("a photo of a cat"));
    }

    @Test
    void truncationKeepsEosLast() {
        String lng = "a photo of a cat ".repeat(100); // 500 content tokens
        assertEquals(500, tok1.countTokens(lng));
        int[] ids = tok1.encode(lng);
        assertEquals(77, ids.length);
        assertEquals(49406, ids[0]);
        assertEquals(49407, ids[76]);
        assertEquals(320, ids[1]);
        assertEquals(1125, ids[2]);
        assertEquals(2368, ids[75]); // content 75 = the 15th "cat" (5 tokens per repeat)
        int[] unpadded = tok2.encodeUnpadded(lng);
        assertEquals(77, unpadded.length);
        assertEquals(49407, unpadded[76]);
        int[] short10 = tok1.withMaxLength(10).encode(lng);
        assertArrayEquals(new int[] {49406, 320, 1125, 539, 320, 2368, 320, 1125, 539, 49407}, short10);
    }

    @Test
    void caseWhitespaceAndUnicode() {
        assertArrayEquals(tok1.encode("a photo of a cat"), tok1.encode("  A\tPHOTO \n of\u00a0a   Cat  "));
        // NFC: e + combining acute == precomposed é (golden row 91: café -> 15304)
        assertArrayEquals(new int[] {49406, 15304, 49407}, tok1.encodeUnpadded("cafe\u0301"));
        assertArrayEquals(tok1.encodeUnpadded("CAF\u00c9"), tok1.encodeUnpadded("caf\u00e9"));
        // zero-width space is deleted, not a separator
        assertArrayEquals(tok1.encodeUnpadded("zerowidth"), tok1.encodeUnpadded("zero\u200bwidth"));
        // emoji outside the BMP, and one added in Unicode 14 (melting face U+1FAE0) kept as its UTF-8 bytes
        assertArrayEquals(new int[] {49406, 22979, 49407}, tok1.encodeUnpadded("\ud83d\udc31"));
        List<String> melting = tok1.tokens("\ud83e\udee0");
        assertEquals(String.join("", melting).replace("</w>", ""), ClipBpe.byteEncode("\ud83e\udee0"));
        // Python lower(): final sigma, dotted capital I
        assertEquals("\u03bf\u03b4\u03bf\u03c2", BasicTokenizer.pythonLower("\u039f\u0394\u039f\u03a3"));
        assertEquals("\u03c3", BasicTokenizer.pythonLower("\u03a3"));
        assertEquals("\u03b1\u03c3'\u03b2", BasicTokenizer.pythonLower("\u0391\u03a3'\u0392"));
        assertEquals("\u03b1\u03c2-\u03b2", BasicTokenizer.pythonLower("\u0391\u03a3-\u0392"));
        assertEquals("i\u0307stanbul", BasicTokenizer.pythonLower("\u0130STANBUL"));
        // Unicode 14 capitals (unknown to Java 17) lower-case as in Python 3.11
        assertEquals("\u2c5f\ud801\udd97", BasicTokenizer.pythonLower("\u2c2f\ud801\udd70"));
        // regex module under IGNORECASE (checked with regex 2026.5.9): U+0345 matches no alternative, long s
        // folds to s in the contraction 's
        assertEquals(List.of("ab", "cd", "'\u017f", "x"), ClipTokenizer.pieces("ab\u0345cd '\u017fx"));
        // the curly apostrophe is an ordinary symbol; the ASCII one starts a contraction
        assertEquals(List.of("don", "'t"), ClipTokenizer.pieces("don't"));
        assertEquals(List.of("don", "\u2019", "t"), ClipTokenizer.pieces("don\u2019t"));
        assertEquals(List.of("1", "0", "2", "4", "x"), ClipTokenizer.pieces("1024x"));
        assertEquals(List.of("!!!", "...", "),"), ClipTokenizer.pieces("!!! ... ),"));
    }

    @Test
    void bangIsAnAddedTokenOnlyInTokenizer2() {
        assertArrayEquals(new int[] {49406, 2781, 256, 49407}, tok1.encodeUnpadded("wow!"));
        assertArrayEquals(new int[] {49406, 2781, 0, 49407}, tok2.encodeUnpadded("wow!"));
        assertArrayEquals(new int[] {49406, 320, 49407, 321, 49407}, tok1.encodeUnpadded("a <|endoftext|> b"));
    }

    @Test
    void bundledTokenizersEqualGoldenFolders() {
        ClipTokenizer b1 = ClipTokenizer.sdxlBundled(1);
        ClipTokenizer b2 = ClipTokenizer.sdxlBundled(2);
        assertEquals(49407, b1.padId());
        assertEquals(0, b2.padId());
        for (int i = 0; i < prompts.size(); i += 7) {
            assertArrayEquals(ids1[i], longs(b1.encode(prompts.get(i))), "bundled tokenizer row " + i);
            assertArrayEquals(ids2[i], longs(b2.encode(prompts.get(i))), "bundled tokenizer_2 row " + i);
        }
        assertTrue(b1 == ClipTokenizer.sdxlBundled(1));
        assertThrows(IllegalArgumentException.class, () -> ClipTokenizer.sdxlBundled(3));
    }

    @Test
    void missingAndMalformedFilesNameTheFile(@TempDir Path tmp) throws IOException {
        Path onlyConfigs = GOLDEN.resolve("tokenizer_2");
        IOException e = assertThrows(IOException.class, () -> ClipTokenizer.load(onlyConfigs));
        assertTrue(e.getMessage().contains(onlyConfigs.resolve("vocab.json").toString()), e.getMessage());
        assertTrue(e.getMessage().contains("missing"), e.getMessage());

        Path dir = tokenizer2Folder(tmp);
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\ni n\nt h e\n");
        e = assertThrows(IOException.class, () -> ClipTokenizer.load(dir));
        assertTrue(e.getMessage().contains("merges.txt: line 3"), e.getMessage());

        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\ni n\n");
        Files.writeString(dir.resolve("vocab.json"), "{\"a\": 1, \"b\": ");
        e = assertThrows(IOException.class, () -> ClipTokenizer.load(dir));
        assertTrue(e.getMessage().contains("vocab.json"), e.getMessage());

        Files.writeString(dir.resolve("vocab.json"), "{\"a\": 1, \"b\": 1}");
        e = assertThrows(IOException.class, () -> ClipTokenizer.load(dir));
        assertTrue(e.getMessage().contains("id 1 is given to both"), e.getMessage());

        Files.writeString(dir.resolve("vocab.json"), "{\"a\": 0, \"<|endoftext|>\": 1, \"<|startoftext|>\": 2}");
        e = assertThrows(IOException.class, () -> ClipTokenizer.load(dir));
        assertTrue(e.getMessage().contains("special_tokens_map.json: pad_token '!' is not in vocab.json"), e.getMessage());

        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"model_max_length\": 1e30}");
        Files.delete(dir.resolve("special_tokens_map.json"));
        e = assertThrows(IOException.class, () -> ClipTokenizer.load(dir));
        assertTrue(e.getMessage().contains("tokenizer_config.json: field 'model_max_length'"), e.getMessage());
    }

    @Test
    void tinyVocabularyRunsMergesByRank(@TempDir Path tmp) throws IOException {
        // ranks: "l o" 0, "lo w</w>" 1, "o w</w>" 2; applying "o w</w>" first (ignoring ranks) would give l, o, l, ow</w>
        StringBuilder vocab = new StringBuilder("{");
        int id = 0;
        for (char c : ClipBpe.bytesToUnicode()) {
            vocab.append(new JsonPrimitive(String.valueOf(c))).append(':').append(id++).append(',');
        }
        for (String t : new String[] {"lo", "low</w>", "ow</w>", "w</w>", "<|startoftext|>", "<|endoftext|>"}) {
            vocab.append(new JsonPrimitive(t)).append(':').append(id++).append(',');
        }
        vocab.setCharAt(vocab.length() - 1, '}');
        Files.writeString(tmp.resolve("vocab.json"), vocab);
        Files.writeString(tmp.resolve("merges.txt"), "#version: 0.2\nl o\nlo w</w>\no w</w>\n");
        ClipTokenizer t = ClipTokenizer.load(tmp);
        int low = 256;
        assertEquals(List.of("low</w>"), t.tokens("LOW"));
        assertEquals(List.of("lo", "low</w>"), t.tokens("lolow"));
        assertArrayEquals(new int[] {id - 2, low, low + 1, id - 1}, t.encodeUnpadded("lolow"));
        // "l</w>" is not in this vocabulary: the unknown token (<|endoftext|>) stands in, as in transformers
        assertEquals(List.of("l</w>", "ow</w>"), t.tokens("l ow"));
        assertArrayEquals(new int[] {id - 2, id - 1, low + 2, id - 1}, t.encodeUnpadded("l ow"));
        assertEquals(77, t.maxLength());
        assertEquals(id - 1, t.padId());
    }

    /** transformers' {@code CLIPTokenizer.bpe} loop, transcribed: re-scan for the lowest rank, merge all. */
    static List<String> pythonBpe(String word, java.util.Map<String, Integer> ranks) {
        List<String> w = new ArrayList<>();
        for (int i = 0; i < word.length(); i++) {
            w.add(i == word.length() - 1 ? word.charAt(i) + "</w>" : String.valueOf(word.charAt(i)));
        }
        while (w.size() > 1) {
            String best = null;
            int bestRank = Integer.MAX_VALUE;
            for (int i = 0; i + 1 < w.size(); i++) {
                Integer r = ranks.get(w.get(i) + " " + w.get(i + 1));
                if (r != null && r < bestRank) {
                    bestRank = r;
                    best = w.get(i) + " " + w.get(i + 1);
                }
            }
            if (best == null) {
                break;
            }
            String first = best.substring(0, best.indexOf(' '));
            String second = best.substring(best.indexOf(' ') + 1);
            List<String> nw = new ArrayList<>();
            int i = 0;
            while (i < w.size()) {
                int j = w.subList(i, w.size()).indexOf(first);
                if (j < 0) {
                    nw.addAll(w.subList(i, w.size()));
                    break;
                }
                nw.addAll(w.subList(i, i + j));
                i += j;
                if (i < w.size() - 1 && w.get(i + 1).equals(second)) {
                    nw.add(first + second);
                    i += 2;
                } else {
                    nw.add(w.get(i));
                    i += 1;
                }
            }
            w = nw;
        }
        return w;
    }

    @Test
    void heapMergeEqualsThePythonLoopOnLongWords() throws IOException {
        java.util.Map<String, Integer> ranks = ClipTokenizer.parseMerges(Files.readString(GOLDEN.resolve("merges.txt")), "merges.txt");
        java.util.Random rnd = new java.util.Random(7);
        String[] alphabets = {"ab", "abcdefghijklmnopqrstuvwxyz", "aeinorst", "\u00e9\u00e8a\u732b\ud83d\udc31"};
        int words = 0;
        for (String alphabet : alphabets) {
            for (int k = 0; k < 40; k++) {
                StringBuilder sb = new StringBuilder();
                int len = 1 + rnd.nextInt(k < 30 ? 30 : 600);
                while (sb.length() < len) {
                    int cp = alphabet.codePointAt(alphabet.offsetByCodePoints(0, rnd.nextInt(alphabet.codePointCount(0, alphabet.length()))));
                    sb.appendCodePoint(cp);
                }
                String piece = sb.toString();
                List<String> want = pythonBpe(ClipBpe.byteEncode(piece), ranks);
                assertEquals(want, List.of(new ClipBpe(java.util.Map.of(), ranks, 0).encode(piece).tokens()), piece);
                words++;
            }
        }
        assertEquals(160, words);
    }
}
