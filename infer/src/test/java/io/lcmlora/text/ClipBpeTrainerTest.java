package io.lcmlora.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClipBpeTrainerTest {
    static final Path GOLDEN = Path.of(System.getProperty("golden.dir")).resolve("tokenizer");
    static final List<String> CAPTIONS = List.of(
            "grinning face, smileys & emotion, face-smiling",
            "grinning face with big eyes, smileys & emotion, face-smiling",
            "thumbs up: medium skin tone, people & body, hand-fingers-closed",
            "thumbs down: dark skin tone, people & body, hand-fingers-closed",
            "red heart, smileys & emotion, heart",
            "flag: Åland Islands, flags, country-flag");

    /** The byte symbols come first in GPT-2 order: the real CLIP vocabulary's first 512 entries, id for id. */
    @Test
    void byteSymbolsMatchTheRealClipVocabulary() throws Exception {
        JsonObject real = JsonParser.parseString(Files.readString(GOLDEN.resolve("vocab.json"))).getAsJsonObject();
        ClipBpeTrainer.Vocabulary v = ClipBpeTrainer.train(CAPTIONS, 600);
        for (int id = 0; id < 512; id++) {
            String token = v.vocab().get(id);
            assertEquals(id, real.get(token).getAsInt(), "token '" + token + "'");
        }
        assertEquals(600, v.size());
        assertEquals(600 - ClipBpeTrainer.BASE_VOCAB, v.merges().size());
        assertEquals(ClipTokenizer.START_OF_TEXT, v.vocab().get(598));
        assertEquals(ClipTokenizer.END_OF_TEXT, v.vocab().get(599));
    }

    /** With enough merges every training word is one token; the folder loads and frames like SDXL's two tokenizers. */
    @Test
    void trainedFolderTokenizesCaptionWordsWhole(@TempDir Path dir) throws Exception {
        ClipBpeTrainer.Vocabulary v = ClipBpeTrainer.train(CAPTIONS, 1000);
        assertTrue(v.size() < 1000, "this corpus runs out of pairs before 1000 ids: " + v.size());
        ClipBpeTrainer.writeFolder(v, dir.resolve("tokenizer"), ClipTokenizer.END_OF_TEXT);
        ClipBpeTrainer.writeFolder(v, dir.resolve("tokenizer_2"), "!");
        ClipTokenizer t1 = ClipTokenizer.load(dir.resolve("tokenizer"));
        ClipTokenizer t2 = ClipTokenizer.load(dir.resolve("tokenizer_2"));
        assertEquals(List.of("thumbs</w>", "up</w>", ":</w>", "medium</w>", "skin</w>", "tone</w>"),
                t1.tokens("Thumbs up: medium skin tone"));
        Map<String, Integer> ids = new java.util.HashMap<>();
        for (int i = 0; i < v.size(); i++) {
            ids.put(v.vocab().get(i), i);
        }
        int[] expected = new int[77];
        expected[0] = v.size() - 2;
        expected[1] = ids.get("red</w>");
        expected[2] = ids.get("heart</w>");
        expected[3] = v.size() - 1;
        java.util.Arrays.fill(expected, 4, 77, v.size() - 1);
        assertArrayEquals(expected, t1.encode("red heart"));
        expected[3] = v.size() - 1;
        java.util.Arrays.fill(expected, 4, 77, 0); // tokenizer_2 pads with "!" = id 0
        assertArrayEquals(expected, t2.encode("red heart"));
        // an unseen word still tokenizes, from smaller pieces
        List<String> unseen = t1.tokens("zebra");
        assertTrue(unseen.size() > 1 && String.join("", unseen).equals("zebra</w>"), unseen.toString());
    }

    /** Merges are learned most-frequent-first: on "ab ab ab cd" the first merge is a+b</w>. */
    @Test
    void mostFrequentPairIsMergedFirst() {
        ClipBpeTrainer.Vocabulary v = ClipBpeTrainer.train(List.of("ab ab ab cd"), ClipBpeTrainer.BASE_VOCAB + 2);
        assertEquals(List.of("a b</w>", "c d</w>"), v.merges());
        List<String> tail = new ArrayList<>(v.vocab().subList(512, v.size()));
        assertEquals(List.of("ab</w>", "cd</w>", ClipTokenizer.START_OF_TEXT, ClipTokenizer.END_OF_TEXT), tail);
    }
}
