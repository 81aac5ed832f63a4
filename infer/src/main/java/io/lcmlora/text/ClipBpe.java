package io.lcmlora.text;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
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

    /**
     * The merge loop of {@code CLIPTokenizer.bpe} in O(n log n): Python re-scans the word for the lowest-ranked
     * pair and merges all its occurrences left to right; here the pairs sit in a heap ordered by (rank,
     * position) and each rank is done as one round in position order, so the result is the same. Pairs made
     * during a round join the heap after it, as Python only sees them in its next scan.
     */
    private String[] merge(String word) {
        int n = word.length();
        String[] sym = new String[n];
        int[] prev = new int[n];
        int[] next = new int[n];
        for (int i = 0; i < n; i++) {
            sym[i] = i == n - 1 ? word.charAt(i) + END_OF_WORD : String.valueOf(word.charAt(i));
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        PriorityQueue<long[]> heap = new PriorityQueue<>((x, y) -> x[0] != y[0] ? Long.compare(x[0], y[0])
                : Long.compare(x[1], y[1]));
        for (int i = 0; i + 1 < n; i++) {
            offer(heap, sym, next, i);
        }
        List<Integer> touched = new ArrayList<>();
        while (!heap.isEmpty()) {
            long rank = heap.peek()[0];
            touched.clear();
            while (!heap.isEmpty() && heap.peek()[0] == rank) {
                int i = (int) heap.poll()[1];
                int j = sym[i] == null ? -1 : next[i];
                if (j < 0 || rank(sym[i], sym[j]) != rank) {
                    continue; // stale: a neighbour was merged away or changed
                }
                sym[i] = sym[i] + sym[j];
                sym[j] = null;
                next[i] = next[j];
                if (next[j] >= 0) {
                    prev[next[j]] = i;
                }
                touched.add(i);
            }
            for (int i : touched) {
                if (sym[i] != null) {
                    if (prev[i] >= 0) {
                        offer(heap, sym, next, prev[i]);
                    }
                    offer(heap, sym, next, i);
                }
            }
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i >= 0; i = next[i]) {
            out.add(sym[i]);
        }
        return out.toArray(String[]::new);
    }

    private long rank(String first, String second) {
        Integer r = ranks.get(first + ' ' + second);
        return r == null ? -1 : r;
    }

    private void offer(PriorityQueue<long[]> heap, String[] sym, int[] next, int i) {
        if (next[i] >= 0) {
            long r = rank(sym[i], sym[next[i]]);
            if (r >= 0) {
                heap.add(new long[] {r, i});
            }
        }
    }
}
