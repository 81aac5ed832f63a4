package io.lcmlora.text;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The byte-level BPE of transformers' {@code CLIPTokenizer.bpe}: a pre-tokenised piece is turned into
 * GPT-2 byte characters, its last symbol gets {@code </w>}, and the adjacent pair of lowest merge rank is merged
 * (every non-overlapping occurrence, left to right) until no adjacent pair has a rank. Results are cached per
 * piece (bounded); instances are immutable apart from the cache and safe to share between threads.
 */
final class ClipBpe {
    static final String END_OF_WORD = "</w>";
    /** Pieces that skip BPE: transformers seeds its cache with these two, whatever the config says. */
    private static final List<String> LITERAL = List.of(ClipTokenizer.START_OF_TEXT, ClipTokenizer.END_OF_TEXT);
    private static final int MAX_CACHE = 100_000;
    private static final char[] BYTE_TO_CHAR = bytesToUnicode();

    /** One BPE result: the vocabulary strings and their ids. */
    record Result(String[] tokens, int[] ids) {
    }

    private final Map<String, Integer> vocab;
    /** "first second" -> rank (0-based merge line). */
    private final Map<String, Integer> ranks;
    private final int unkId;
    private final Map<String, Result> cache = new ConcurrentHashMap<>();

    ClipBpe(Map<String, Integer> vocab, Map<String, Integer> ranks, int unkId) {
        this.vocab = vocab;
        this.ranks = ranks;
        this.unkId = unkId;
    }

    /** GPT-2's {@code bytes_to_unicode}: printable Latin-1 bytes map to themselves, the other 68 to U+0100... */
    static char[] bytesToUnicode() {
        char[] map = new char[256];
        boolean[] printable = new boolean[256];
        for (int b = 0; b < 256; b++) {
            printable[b] = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        }
        int n = 0;
        for (int b = 0; b < 256; b++) {
            map[b] = printable[b] ? (char) b : (char) (256 + n++);
        }
        return map;
    }

    /** The UTF-8 bytes of {@code piece}, each written as its byte character. */
    static String byteEncode(String piece) {
        byte[] utf8 = piece.getBytes(StandardCharsets.UTF_8);
        char[] out = new char[utf8.length];
        for (int i = 0; i < utf8.length; i++) {
            out[i] = BYTE_TO_CHAR[utf8[i] & 0xFF];
        }
        return new String(out);
    }

    /** BPE of one pre-tokenised piece (raw text; byte-encoded here). */
    Result encode(String piece) {
        String word = byteEncode(piece);
        Result r = cache.get(word);
        if (r != null) {
            return r;
        }
        String[] tokens = LITERAL.contains(word) ? new String[] {word} : merge(word);
        int[] ids = new int[tokens.length];
        for (int i = 0; i < tokens.length; i++) {
            ids[i] = vocab.getOrDefault(tokens[i], unkId);
        }
        r = new Result(tokens, ids);
        if (cache.size() >= MAX_CACHE) {
            cache.clear();
        }
        cache.put(word, r);
        return r;
    }

    private String[] merge(String word) {
        List<String> symbols = new ArrayList<>(word.length());
        for (int i = 0; i < word.length(); i++) {
            symbols.add(i == word.length() - 1 ? word.charAt(i) + END_OF_WORD : String.valueOf(word.charAt(i)));
        }
        while (symbols.size() > 1) {
            int best = Integer.MAX_VALUE;
            String first = null;
            String second = null;
            for (int i = 0; i + 1 < symbols.size(); i++) {
                Integer rank = ranks.get(symbols.get(i) + ' ' + symbols.get(i + 1));
                if (rank != null && rank < best) {
                    best = rank;
                    first = symbols.get(i);
                    second = symbols.get(i + 1);
                }
            }
            if (first == null) {
                break;
            }
            List<String> merged = new ArrayList<>(symbols.size());
            for (int i = 0; i < symbols.size(); i++) {
                if (i + 1 < symbols.size() && symbols.get(i).equals(first) && symbols.get(i + 1).equals(second)) {
                    merged.add(first + second);
                    i++;
                } else {
                    merged.add(symbols.get(i));
                }
            }
            symbols = merged;
        }
        return symbols.toArray(String[]::new);
    }
}
