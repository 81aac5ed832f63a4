package io.lcmlora.text;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import io.lcmlora.io.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Learns a CLIP-layout byte-level BPE vocabulary from a text corpus (e.g. the captions of a small data set), so a
 * tiny text encoder with a small {@code vocab_size} sees whole words instead of the first merges of the real CLIP
 * vocabulary. The texts go through the same cleanup and pre-tokenisation as {@link ClipTokenizer} (lower-case, CLIP's
 * regex, byte characters, {@code </w>} on each piece's last symbol); then, as in Sennrich et al.'s BPE, the most
 * frequent adjacent pair is merged, repeatedly (ties: the smaller pair string; a pair whose concatenation is already
 * a token is skipped). The vocabulary has CLIP's layout: the 256 byte characters, the same with {@code </w>}, the
 * merges in rank order, then {@code <|startoftext|>} and {@code <|endoftext|>} (the two largest ids, so the legacy
 * argmax pooling of CLIP text models finds the end of text). Because {@link ClipTokenizer} applies merges by rank,
 * a training word is tokenised exactly as it was segmented here.
 */
public final class ClipBpeTrainer {
    /** Byte characters (512) and the two specials: the smallest vocabulary. */
    public static final int BASE_VOCAB = 2 * 256 + 2;

    private ClipBpeTrainer() {}

    /**
     * A learned tokenizer.
     *
     * @param vocab token strings by id
     * @param merges the merge rules in rank order ({@code "first second"})
     */
    public record Vocabulary(List<String> vocab, List<String> merges) {
        public Vocabulary {
            vocab = List.copyOf(vocab);
            merges = List.copyOf(merges);
        }

        public int size() {
            return vocab.size();
        }
    }

    /** Learns {@code vocabSize - 514} merges from {@code texts} (fewer when no pair occurs any more). */
    public static Vocabulary train(List<String> texts, int vocabSize) {
        if (vocabSize < BASE_VOCAB) {
            throw new IllegalArgumentException("vocab size " + vocabSize + " is below the " + BASE_VOCAB
                    + " byte and special tokens");
        }
        Map<List<String>, Integer> words = new LinkedHashMap<>();
        for (String text : texts) {
            for (String piece : ClipTokenizer.pieces(BasicTokenizer.clean(text))) {
                String w = ClipBpe.byteEncode(piece);
                List<String> sym = new ArrayList<>(w.length());
                for (int i = 0; i < w.length(); i++) {
                    sym.add(i == w.length() - 1 ? w.charAt(i) + ClipBpe.END_OF_WORD : String.valueOf(w.charAt(i)));
                }
                words.merge(sym, 1, Integer::sum);
            }
        }
        List<String> vocab = new ArrayList<>(byteSymbols());
        for (String s : byteSymbols()) {
            vocab.add(s + ClipBpe.END_OF_WORD);
        }
        Set<String> known = new HashSet<>(vocab);
        List<String> merges = new ArrayList<>();
        List<List<String>> forms = new ArrayList<>(words.keySet());
        int[] counts = words.values().stream().mapToInt(Integer::intValue).toArray();
        while (vocab.size() < vocabSize - 2) {
            Map<String, Integer> pairs = new HashMap<>();
            for (int k = 0; k < forms.size(); k++) {
                List<String> f = forms.get(k);
                for (int i = 0; i + 1 < f.size(); i++) {
                    pairs.merge(f.get(i) + ' ' + f.get(i + 1), counts[k], Integer::sum);
                }
            }
            String best = null;
            int bestCount = 0;
            for (Map.Entry<String, Integer> e : pairs.entrySet()) {
                String joined = e.getKey().replace(" ", "");
                if (known.contains(joined)) {
                    continue;
                }
                int c = e.getValue();
                if (c > bestCount || (c == bestCount && e.getKey().compareTo(best) < 0)) {
                    best = e.getKey();
                    bestCount = c;
                }
            }
            if (best == null) {
                break;
            }
            int space = best.indexOf(' ');
            String first = best.substring(0, space);
            String second = best.substring(space + 1);
            String joined = first + second;
            for (int k = 0; k < forms.size(); k++) {
                forms.set(k, mergeAll(forms.get(k), first, second, joined));
            }
            merges.add(best);
            vocab.add(joined);
            known.add(joined);
        }
        vocab.add(ClipTokenizer.START_OF_TEXT);
        vocab.add(ClipTokenizer.END_OF_TEXT);
        return new Vocabulary(vocab, merges);
    }

    /** Every non-overlapping (first, second) occurrence, left to right, replaced by {@code joined}. */
    private static List<String> mergeAll(List<String> sym, String first, String second, String joined) {
        List<String> out = new ArrayList<>(sym.size());
        for (int i = 0; i < sym.size(); i++) {
            if (i + 1 < sym.size() && sym.get(i).equals(first) && sym.get(i + 1).equals(second)) {
                out.add(joined);
                i++;
            } else {
                out.add(sym.get(i));
            }
        }
        return out;
    }

    /** The byte characters in the order of GPT-2's {@code bytes_to_unicode().values()} (printable bytes first). */
    static List<String> byteSymbols() {
        char[] map = ClipBpe.bytesToUnicode();
        List<String> printable = new ArrayList<>();
        List<String> rest = new ArrayList<>();
        for (int b = 0; b < 256; b++) {
            (map[b] == b ? printable : rest).add(String.valueOf(map[b]));
        }
        printable.addAll(rest);
        return printable;
    }

    /**
     * Writes a transformers/diffusers tokenizer folder ({@code vocab.json}, {@code merges.txt},
     * {@code tokenizer_config.json}, {@code special_tokens_map.json}) padding with {@code padToken}: SDXL's
     * {@code tokenizer/} pads with {@code <|endoftext|>}, {@code tokenizer_2/} with {@code !}.
     */
    public static void writeFolder(Vocabulary v, Path dir, String padToken) throws IOException {
        if (!v.vocab().contains(padToken)) {
            throw new IllegalArgumentException("pad token '" + padToken + "' is not in the vocabulary");
        }
        Files.createDirectories(dir);
        var gson = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();
        JsonObject vocab = new JsonObject();
        for (int i = 0; i < v.vocab().size(); i++) {
            vocab.addProperty(v.vocab().get(i), i);
        }
        AtomicFiles.writeString(dir.resolve("vocab.json"), gson.toJson(vocab) + "\n");
        AtomicFiles.writeString(dir.resolve("merges.txt"), "#version: 0.2\n" + String.join("\n", v.merges())
                + (v.merges().isEmpty() ? "" : "\n"));
        JsonObject special = new JsonObject();
        special.addProperty("bos_token", ClipTokenizer.START_OF_TEXT);
        special.addProperty("eos_token", ClipTokenizer.END_OF_TEXT);
        special.addProperty("unk_token", ClipTokenizer.END_OF_TEXT);
        special.addProperty("pad_token", padToken);
        AtomicFiles.writeString(dir.resolve("special_tokens_map.json"), gson.toJson(special) + "\n");
        JsonObject config = special.deepCopy();
        config.addProperty("add_prefix_space", false);
        config.addProperty("clean_up_tokenization_spaces", true);
        config.addProperty("do_lower_case", true);
        config.addProperty("errors", "replace");
        config.addProperty("model_max_length", ClipTokenizer.DEFAULT_MAX_LENGTH);
        config.addProperty("tokenizer_class", "CLIPTokenizer");
        AtomicFiles.writeString(dir.resolve("tokenizer_config.json"), gson.toJson(config) + "\n");
    }
}
