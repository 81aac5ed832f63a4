package io.lcmlora.model.clip;

import static io.lcmlora.model.clip.ClipTextModelTest.DIR;
import static io.lcmlora.model.clip.ClipTextModelTest.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.lcmlora.io.SafeTensorsFile;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class SdxlPromptEncoderTest {
    static NDManager manager;
    static SafeTensorsFile golden;
    static SdxlPromptEncoder encoder;

    @BeforeAll
    static void open() throws IOException {
        manager = NDManager.newBaseManager();
        golden = SafeTensorsFile.open(DIR.resolve("encode_prompt.safetensors"));
        encoder = SdxlPromptEncoder.load(DIR, manager, DataType.FLOAT32, null, null);
    }

    @AfterAll
    static void close() throws IOException {
        golden.close();
        manager.close();
    }

    /** A golden [B, T] I64 tensor as int rows. */
    static int[][] ids(SafeTensorsFile f, String name) throws IOException {
        long[] shape = f.info(name).shape();
        long[] v = f.longs(name);
        int b = (int) shape[0];
        int t = (int) shape[1];
        int[][] out = new int[b][t];
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < t; j++) {
                out[i][j] = Math.toIntExact(v[i * t + j]);
            }
        }
        return out;
    }

    static void assertCase(String c, SdxlPromptEmbeds e) throws IOException {
        assertClose(e.promptEmbeds(), golden, c + "_prompt_embeds");
        assertClose(e.pooledPromptEmbeds(), golden, c + "_pooled_prompt_embeds");
        assertClose(e.negativePromptEmbeds(), golden, c + "_negative_prompt_embeds");
        assertClose(e.negativePooledPromptEmbeds(), golden, c + "_negative_pooled_prompt_embeds");
    }

    static SdxlPromptEncoder.TokenIds caseIds(String c, boolean negative) throws IOException {
        return new SdxlPromptEncoder.TokenIds(ids(golden, c + "_prompt_ids_1"), ids(golden, c + "_prompt_ids_2"),
                negative ? ids(golden, c + "_negative_ids_1") : null, negative ? ids(golden, c + "_negative_ids_2") : null);
    }

    @Test
    void goldenCases() throws IOException {
        assertTrue(encoder.forceZerosForEmptyPrompt());
        try (NDManager m = manager.newSubManager()) {
            SdxlPromptEmbeds c0 = encoder.encode(m, caseIds("c0", false), SdxlPromptEncoder.Options.DEFAULT);
            assertCase("c0", c0);
            assertEquals(0f, c0.negativePromptEmbeds().abs().max().getFloat());
            assertCase("c1", encoder.encode(m, caseIds("c1", true), SdxlPromptEncoder.Options.DEFAULT));
            // c2 is force_zeros_for_empty_prompt=False with the ids of "" as negatives: the id-level call is the same
            assertCase("c2", encoder.encode(m, caseIds("c2", true), SdxlPromptEncoder.Options.DEFAULT));
            assertCase("c3", encoder.encode(m, caseIds("c3", true), SdxlPromptEncoder.Options.DEFAULT.withClipSkip(1)));
        }
    }

    /** A fake tokenizer returning the golden rows for named strings. */
    static Function<String, int[]> table(Map<String, int[]> rows) {
        return s -> {
            int[] r = rows.get(s);
            if (r == null) {
                throw new AssertionError("unexpected text to tokenize: '" + s + "'");
            }
            return r;
        };
    }

    @Test
    void textLevelDefaultsFollowThePipeline() throws IOException {
        Map<String, int[]> t1 = new HashMap<>();
        Map<String, int[]> t2 = new HashMap<>();
        for (String c : new String[] {"c1", "c2", "c3"}) {
            int[][] p1 = ids(golden, c + "_prompt_ids_1");
            int[][] p2 = ids(golden, c + "_prompt_ids_2");
            int[][] n1 = ids(golden, c + "_negative_ids_1");
            int[][] n2 = ids(golden, c + "_negative_ids_2");
            for (int i = 0; i < 2; i++) {
                t1.put(c + "p" + i, p1[i]);
                t2.put((c.equals("c3") ? "c3q" : c + "p") + i, p2[i]);
                t1.put(c + "n" + i, n1[i]);
                t2.put(c + "n" + i, n2[i]);
            }
        }
        // c2's negatives are encode('') for every row
        int[][] empty1 = ids(golden, "c2_negative_ids_1");
        assertArrayEquals(empty1[0], empty1[1]);
        t1.put("", empty1[0]);
        t2.put("", ids(golden, "c2_negative_ids_2")[0]);
        var tok1 = table(t1);
        var tok2 = table(t2);
        var opts = SdxlPromptEncoder.Options.DEFAULT;
        try (NDManager m = manager.newSubManager()) {
            // prompt_2 defaults to prompt, negative_prompt_2 to negative_prompt
            assertCase("c1", encoder.encode(m, tok1, tok2, SdxlPromptEncoder.Prompts.of("c1p0", "c1p1").withNegative("c1n0", "c1n1"), opts));
            assertCase("c3", encoder.encode(m, tok1, tok2,
                    SdxlPromptEncoder.Prompts.of("c3p0", "c3p1").withPrompt2("c3q0", "c3q1").withNegative("c3n0", "c3n1"),
                    opts.withClipSkip(1)));
            // force_zeros_for_empty_prompt = False: no negative prompt encodes ""
            SdxlPromptEncoder noZeros = SdxlPromptEncoder.load(DIR, m, DataType.FLOAT32, null, false);
            assertCase("c2", noZeros.encode(m, tok1, tok2, SdxlPromptEncoder.Prompts.of("c2p0", "c2p1"), opts));
            var e = assertThrows(IllegalArgumentException.class,
                    () -> noZeros.encode(m, SdxlPromptEncoder.TokenIds.of(ids(golden, "c2_prompt_ids_1"), ids(golden, "c2_prompt_ids_2")), opts));
            assertTrue(e.getMessage().contains("empty prompt"), e.getMessage());
            // force zeros and no negative: the tokenizers see only the prompts
            int[][] c0a = ids(golden, "c0_prompt_ids_1");
            int[][] c0b = ids(golden, "c0_prompt_ids_2");
            assertCase("c0", encoder.encode(m, table(Map.of("x0", c0a[0], "x1", c0a[1])),
                    table(Map.of("x0", c0b[0], "x1", c0b[1])), SdxlPromptEncoder.Prompts.of("x0", "x1"), opts));
        }
    }

    @Test
    void imagesPerPromptAndNoGuidance() throws IOException {
        try (NDManager m = manager.newSubManager()) {
            var opts = SdxlPromptEncoder.Options.DEFAULT.withNumImagesPerPrompt(2);
            SdxlPromptEmbeds e = encoder.encode(m, caseIds("c1", true), opts);
            assertArrayEquals(new long[] {4, 77, 64}, e.promptEmbeds().getShape().getShape());
            assertArrayEquals(new long[] {4, 32}, e.negativePooledPromptEmbeds().getShape().getShape());
            // rows 0,1 are prompt 0 and rows 2,3 prompt 1 (repeat then view, as the pipeline does)
            assertClose(e.promptEmbeds().get("0:4:2"), golden, "c1_prompt_embeds");
            assertClose(e.promptEmbeds().get("1:4:2"), golden, "c1_prompt_embeds");
            assertClose(e.negativePooledPromptEmbeds().get("1:4:2"), golden, "c1_negative_pooled_prompt_embeds");

            SdxlPromptEmbeds nocfg = encoder.encode(m, caseIds("c3", false),
                    SdxlPromptEncoder.Options.DEFAULT.withClassifierFreeGuidance(false).withClipSkip(1));
            assertClose(nocfg.promptEmbeds(), golden, "c3_prompt_embeds");
            assertNull(nocfg.negativePromptEmbeds());
            assertEquals(2, nocfg.named().size());

            // the tiny encoder 2 has 4 layers: clip_skip 3 reads hidden_states[-5] = embeddings, 4 is out of range
            encoder.encode(m, caseIds("c0", false), SdxlPromptEncoder.Options.DEFAULT.withClipSkip(3));
            assertThrows(IllegalArgumentException.class,
                    () -> encoder.encode(m, caseIds("c0", false), SdxlPromptEncoder.Options.DEFAULT.withClipSkip(4)));
            // negatives of another length than the prompt are rejected
            int[][] p = ids(golden, "c1_prompt_ids_1");
            int[][] shortNeg = {new int[10], new int[10]};
            assertThrows(IllegalArgumentException.class,
                    () -> new SdxlPromptEncoder.TokenIds(p, ids(golden, "c1_prompt_ids_2"), shortNeg, shortNeg));
        }
    }

    @Test
    void timeIdsMatchGolden() throws IOException {
        try (NDManager m = manager.newSubManager()) {
            NDArray t = SdxlTimeIds.of(1024, 1024, 0, 0, 1024, 1024).toArray(m, 1);
            assertClose(t, golden, "add_time_ids_1024");
            assertArrayEquals(new float[] {768, 1024, 16, 32, 896, 1152},
                    SdxlTimeIds.of(768, 1024, 16, 32, 896, 1152).values());
            assertArrayEquals(new long[] {3, 6}, SdxlTimeIds.forImage(512, 512).toArray(m, 3).getShape().getShape());
            // the UNet golden config: addition_time_embed_dim 8, projection_dim 32 -> 80 features
            SdxlTimeIds.checkAddEmbedDim(8, 32, 80);
            SdxlTimeIds.checkAddEmbedDim(256, 1280, 2816);
            assertThrows(IllegalArgumentException.class, () -> SdxlTimeIds.checkAddEmbedDim(256, 1280, 2560));
            assertThrows(IllegalArgumentException.class, () -> SdxlTimeIds.of(0, 1024, 0, 0, 1024, 1024));
        }
    }
}
