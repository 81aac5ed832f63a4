package io.lcmlora.model.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.lcmlora.io.ConfigJson;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * SDXL prompt encoding, as diffusers' (v0.25.1) {@code StableDiffusionXLPipeline.encode_prompt}: per encoder
 * {@code hidden_states[-2]} (or {@code [-(clip_skip + 2)]}) of the token ids, concatenated on the last dimension
 * (encoder 1 first); the pooled embedding is {@code text_embeds} of encoder 2. With classifier-free guidance the
 * negatives are zeros when no negative prompt is given and {@code force_zeros_for_empty_prompt} is set, and are
 * otherwise encoded (always from {@code hidden_states[-2]}: the pipeline ignores clip_skip for negatives).
 */
public final class SdxlPromptEncoder {
    /**
     * Per-call settings.
     *
     * @param classifierFreeGuidance whether negatives are produced ({@code do_classifier_free_guidance})
     * @param clipSkip null for the penultimate layer, k for {@code hidden_states[-(k + 2)]}
     * @param numImagesPerPrompt each row repeated this many times (consecutively)
     */
    public record Options(boolean classifierFreeGuidance, Integer clipSkip, int numImagesPerPrompt) {
        public static final Options DEFAULT = new Options(true, null, 1);

        public Options {
            if (clipSkip != null && clipSkip < 0) {
                throw new IllegalArgumentException("clip_skip must be >= 0, got " + clipSkip);
            }
            if (numImagesPerPrompt < 1) {
                throw new IllegalArgumentException("num_images_per_prompt must be >= 1, got " + numImagesPerPrompt);
            }
        }

        public Options withClipSkip(Integer skip) {
            return new Options(classifierFreeGuidance, skip, numImagesPerPrompt);
        }

        public Options withClassifierFreeGuidance(boolean cfg) {
            return new Options(cfg, clipSkip, numImagesPerPrompt);
        }

        public Options withNumImagesPerPrompt(int n) {
            return new Options(classifierFreeGuidance, clipSkip, n);
        }
    }

    /**
     * Token ids per encoder ([batch][tokens], padded like the pipeline's tokenizers). The negatives are both null
     * (no negative prompt) or both given, with the prompt's batch and length.
     */
    public record TokenIds(int[][] prompt1, int[][] prompt2, int[][] negative1, int[][] negative2) {
        public TokenIds {
            if (prompt1 == null || prompt2 == null) {
                throw new IllegalArgumentException("token ids for both encoders are required");
            }
            if ((negative1 == null) != (negative2 == null)) {
                throw new IllegalArgumentException("negative token ids must be given for both encoders or for neither");
            }
            int b = prompt1.length;
            int t = b == 0 ? 0 : prompt1[0].length;
            check("prompt ids for encoder 1", prompt1, b, t);
            check("prompt ids for encoder 2", prompt2, b, t);
            if (negative1 != null) {
                check("negative ids for encoder 1", negative1, b, t);
                check("negative ids for encoder 2", negative2, b, t);
            }
        }

        public static TokenIds of(int[][] prompt1, int[][] prompt2) {
            return new TokenIds(prompt1, prompt2, null, null);
        }

        public boolean hasNegative() {
            return negative1 != null;
        }

        private static void check(String what, int[][] ids, int batch, int tokens) {
            if (ids.length == 0 || ids.length != batch) {
                throw new IllegalArgumentException(what + ": " + ids.length + " rows, expected " + batch + " (a non-empty batch)");
            }
            for (int i = 0; i < ids.length; i++) {
                if (ids[i].length != tokens || tokens == 0) {
                    throw new IllegalArgumentException(what + ": row " + i + " has " + ids[i].length + " tokens, expected "
                            + tokens + " (every sequence padded to the same length)");
                }
            }
        }
    }

    /**
     * Prompts as the pipeline takes them; null means "not given". {@code prompt2} defaults to {@code prompt},
     * {@code negativePrompt2} to {@code negativePrompt}; a one-element negative list applies to every row (the
     * pipeline's plain-string case), otherwise its size must equal the batch.
     */
    public record Prompts(List<String> prompt, List<String> prompt2, List<String> negativePrompt, List<String> negativePrompt2) {
        public Prompts {
            if (prompt == null || prompt.isEmpty()) {
                throw new IllegalArgumentException("at least one prompt is required");
            }
            prompt = List.copyOf(prompt);
            prompt2 = prompt2 == null || prompt2.isEmpty() ? null : List.copyOf(prompt2);
            negativePrompt = negativePrompt == null || negativePrompt.isEmpty() ? null : List.copyOf(negativePrompt);
            negativePrompt2 = negativePrompt2 == null || negativePrompt2.isEmpty() ? null : List.copyOf(negativePrompt2);
        }

        public static Prompts of(String... prompt) {
            return new Prompts(List.of(prompt), null, null, null);
        }

        public Prompts withPrompt2(String... p) {
            return new Prompts(prompt, List.of(p), negativePrompt, negativePrompt2);
        }

        public Prompts withNegative(String... p) {
            return new Prompts(prompt, prompt2, List.of(p), negativePrompt2);
        }

        public Prompts withNegative2(String... p) {
            return new Prompts(prompt, prompt2, negativePrompt, List.of(p));
        }
    }

    private final ClipTextEncoder textEncoder;
    private final CLIPTextModelWithProjection textEncoder2;
    private final boolean forceZerosForEmptyPrompt;

    public SdxlPromptEncoder(ClipTextEncoder textEncoder, CLIPTextModelWithProjection textEncoder2,
            boolean forceZerosForEmptyPrompt) {
        this.textEncoder = textEncoder;
        this.textEncoder2 = textEncoder2;
        this.forceZerosForEmptyPrompt = forceZerosForEmptyPrompt;
    }

    /**
     * Loads {@code text_encoder} and {@code text_encoder_2} of an SDXL folder; {@code force_zeros_for_empty_prompt}
     * comes from its model_index.json (true, the SDXL pipeline default, when the file or field is absent) unless
     * {@code forceZeros} overrides it.
     */
    public static SdxlPromptEncoder load(Path sdxlDir, NDManager manager, DataType dtype, String variant, Boolean forceZeros)
            throws IOException {
        boolean zeros;
        if (forceZeros != null) {
            zeros = forceZeros;
        } else {
            Path index = sdxlDir.resolve("model_index.json");
            zeros = !Files.isRegularFile(index) || ConfigJson.read(index).getBool("force_zeros_for_empty_prompt", true);
        }
        CLIPTextModel te1 = CLIPTextModel.load(sdxlDir.resolve("text_encoder"), manager, dtype, variant);
        CLIPTextModelWithProjection te2 = CLIPTextModelWithProjection.load(sdxlDir.resolve("text_encoder_2"), manager, dtype, variant);
        return new SdxlPromptEncoder(te1, te2, zeros);
    }

    public boolean forceZerosForEmptyPrompt() {
        return forceZerosForEmptyPrompt;
    }

    /** Embeddings on {@code manager} (intermediate activations are released before returning). */
    public SdxlPromptEmbeds encode(NDManager manager, TokenIds ids, Options options) {
        int layers = Math.min(textEncoder.config().numHiddenLayers(), textEncoder2.config().numHiddenLayers());
        if (options.clipSkip() != null && options.clipSkip() > layers - 1) {
            throw new IllegalArgumentException("clip_skip " + options.clipSkip() + " is too large for encoders with "
                    + layers + " layers (at most " + (layers - 1) + ")");
        }
        boolean zeros = !ids.hasNegative() && forceZerosForEmptyPrompt;
        if (options.classifierFreeGuidance() && !ids.hasNegative() && !zeros) {
            throw new IllegalArgumentException("force_zeros_for_empty_prompt is off and no negative ids were given: pass the"
                    + " token ids of the empty prompt \"\" as the negative ids");
        }
        int hiddenIndex = options.clipSkip() == null ? -2 : -(options.clipSkip() + 2);
        int n = options.numImagesPerPrompt();
        try (NDManager sub = manager.newSubManager()) {
            NDArray[] positive = encodePair(sub, ids.prompt1(), ids.prompt2(), hiddenIndex);
            NDArray promptEmbeds = repeatRows(positive[0], n);
            NDArray pooled = repeatRows(positive[1], n);
            NDArray negEmbeds = null;
            NDArray negPooled = null;
            if (options.classifierFreeGuidance()) {
                if (zeros) {
                    negEmbeds = promptEmbeds.zerosLike();
                    negPooled = pooled.zerosLike();
                } else {
                    NDArray[] negative = encodePair(sub, ids.negative1(), ids.negative2(), -2);
                    negEmbeds = repeatRows(negative[0], n);
                    negPooled = repeatRows(negative[1], n);
                }
            }
            SdxlPromptEmbeds out = new SdxlPromptEmbeds(promptEmbeds, pooled, negEmbeds, negPooled);
            for (NDArray a : out.named().values()) {
                a.attach(manager);
            }
            return out;
        }
    }

    /**
     * Tokenizes with one function per encoder (each returning ids padded to the encoder's length, as the
     * pipeline's {@code tokenizer(..., padding="max_length", truncation=True)}) and encodes.
     */
    public SdxlPromptEmbeds encode(NDManager manager, Function<String, int[]> tokenizer1, Function<String, int[]> tokenizer2,
            Prompts prompts, Options options) {
        int batch = prompts.prompt().size();
        List<String> prompt2 = prompts.prompt2() == null ? prompts.prompt() : prompts.prompt2();
        if (prompt2.size() != batch) {
            throw new IllegalArgumentException("prompt_2 has " + prompt2.size() + " entries, prompt has " + batch);
        }
        int[][] neg1 = null;
        int[][] neg2 = null;
        boolean encodeNegative = options.classifierFreeGuidance()
                && !(prompts.negativePrompt() == null && forceZerosForEmptyPrompt);
        if (encodeNegative) {
            List<String> negative = broadcast("negative_prompt",
                    prompts.negativePrompt() == null ? List.of("") : prompts.negativePrompt(), batch);
            List<String> negative2 = prompts.negativePrompt2() == null ? negative
                    : broadcast("negative_prompt_2", prompts.negativePrompt2(), batch);
            neg1 = tokenize(tokenizer1, negative);
            neg2 = tokenize(tokenizer2, negative2);
        }
        return encode(manager, new TokenIds(tokenize(tokenizer1, prompts.prompt()), tokenize(tokenizer2, prompt2), neg1, neg2),
                options);
    }

    private static List<String> broadcast(String what, List<String> values, int batch) {
        if (values.size() == batch) {
            return values;
        }
        if (values.size() == 1) {
            return java.util.Collections.nCopies(batch, values.get(0));
        }
        throw new IllegalArgumentException(what + " has " + values.size() + " entries, but the prompt has " + batch);
    }

    private static int[][] tokenize(Function<String, int[]> tokenizer, List<String> texts) {
        List<int[]> rows = new ArrayList<>(texts.size());
        for (String s : texts) {
            rows.add(tokenizer.apply(s));
        }
        return rows.toArray(new int[0][]);
    }

    /** [selected hidden states of both encoders concatenated, text_embeds of encoder 2]. */
    private NDArray[] encodePair(NDManager m, int[][] ids1, int[][] ids2, int hiddenIndex) {
        ClipTextOutput o1 = textEncoder.forward(ClipTextEncoder.inputIds(m, ids1));
        ClipTextOutput o2 = textEncoder2.forward(ClipTextEncoder.inputIds(m, ids2));
        NDArray embeds = NDArrays.concat(new NDList(o1.hiddenState(hiddenIndex), o2.hiddenState(hiddenIndex)), -1); // [B, T, D1 + D2]
        return new NDArray[] {embeds, o2.textEmbeds()};
    }

    /** [B, ...] -> [B * n, ...], each row repeated n times consecutively. */
    static NDArray repeatRows(NDArray x, int n) {
        if (n == 1) {
            return x;
        }
        Shape s = x.getShape();
        long[] expanded = new long[s.dimension() + 1];
        long[] flat = s.getShape();
        expanded[0] = s.get(0);
        expanded[1] = n;
        for (int i = 1; i < s.dimension(); i++) {
            expanded[i + 1] = s.get(i);
        }
        flat[0] = s.get(0) * n;
        return x.expandDims(1).broadcast(new Shape(expanded)).reshape(new Shape(flat));
    }
}
