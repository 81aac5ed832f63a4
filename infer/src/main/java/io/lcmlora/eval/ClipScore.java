package io.lcmlora.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import io.lcmlora.model.clip.CLIPModel;
import io.lcmlora.model.clip.CLIPTextModelWithProjection;
import io.lcmlora.model.clip.CLIPVisionModelWithProjection;
import io.lcmlora.model.clip.ClipTextEncoder;
import io.lcmlora.text.ClipTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * CLIP score (Hessel et al. 2021, as torchmetrics and the LCM-LoRA paper compute it): for an image and its prompt,
 * {@code 100 * max(cos(image_embeds, text_embeds), 0)} with the projected embeddings of a matching vision/text tower
 * pair; a set's score is the mean over its images. The image goes through {@link ClipImageProcessor}, the prompt
 * through the tower's tokenizer (77 tokens, truncated).
 */
public final class ClipScore implements AutoCloseable {
    private final NDManager manager;
    private final CLIPVisionModelWithProjection vision;
    private final CLIPTextModelWithProjection text;
    private final ClipImageProcessor processor;
    private final ClipTokenizer tokenizer;
    private final String describe;

    private ClipScore(NDManager manager, CLIPVisionModelWithProjection vision, CLIPTextModelWithProjection text,
            ClipImageProcessor processor, ClipTokenizer tokenizer, String describe) {
        this.manager = manager;
        this.vision = vision;
        this.text = text;
        this.processor = processor;
        this.tokenizer = tokenizer;
        this.describe = describe;
    }

    /**
     * The tokenizer of a text tower: {@code tokenizerDir}, or (null) {@code textDir} itself, which then must hold
     * vocab.json and merges.txt (a full CLIPModel folder does).
     */
    public static ClipTokenizer tokenizer(Path textDir, Path tokenizerDir) throws IOException {
        Path tok = tokenizerDir != null ? tokenizerDir : textDir;
        if (!Files.isRegularFile(tok.resolve("vocab.json")) || !Files.isRegularFile(tok.resolve("merges.txt"))) {
            throw new IOException(tok + ": no vocab.json and merges.txt; name the text tower's tokenizer folder (for SDXL's "
                    + "text_encoder_2 that is the sibling tokenizer_2)");
        }
        return ClipTokenizer.load(tok);
    }

    /**
     * Loads the towers (fp32): {@code visionDir} a CLIPVisionModelWithProjection or full CLIPModel folder,
     * {@code textDir} a text encoder folder with {@code text_projection} or a full CLIPModel folder; the
     * {@code tokenizer} (see {@link #tokenizer}) is needed only for {@link #textEmbeds(List)}, not for token ids.
     */
    public static ClipScore load(Path visionDir, Path textDir, ClipTokenizer tokenizer) throws IOException {
        NDManager m = NDManager.newBaseManager();
        try {
            CLIPVisionModelWithProjection v = CLIPVisionModelWithProjection.load(visionDir, m, DataType.FLOAT32, null);
            CLIPTextModelWithProjection t = CLIPModel.loadTextTower(textDir, m, DataType.FLOAT32, null);
            if (v.config().projectionDim() != t.config().projectionDim()) {
                throw new IllegalArgumentException(visionDir + " projects to " + v.config().projectionDim() + " dims, "
                        + textDir + " to " + t.config().projectionDim() + ": the towers are not a CLIP pair");
            }
            ClipImageProcessor p = ClipImageProcessor.forModel(visionDir, v.config().imageSize());
            String d = "CLIP score: vision " + visionDir + ", text " + textDir + " (" + v.config().projectionDim() + "-d)";
            return new ClipScore(m, v, t, p, tokenizer, d);
        } catch (RuntimeException | IOException e) {
            m.close();
            throw e;
        }
    }

    /** One line naming the towers. */
    public String describe() {
        return describe;
    }

    public ClipImageProcessor processor() {
        return processor;
    }

    /** 100 * max(cos(a, b), 0). */
    public static double score(double[] a, double[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("embeddings have " + a.length + " and " + b.length + " values");
        }
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }
        double cos = dot / Math.sqrt(na * nb);
        if (!Double.isFinite(cos)) {
            throw new IllegalArgumentException("cosine of a zero or non-finite embedding");
        }
        return 100 * Math.max(cos, 0);
    }

    /** Mean of {@link #score} over pairs (image_embeds[i], text_embeds[i]). */
    public static double mean(double[][] imageEmbeds, double[][] textEmbeds) {
        if (imageEmbeds.length != textEmbeds.length || imageEmbeds.length == 0) {
            throw new IllegalArgumentException(imageEmbeds.length + " image and " + textEmbeds.length
                    + " text embeddings: expected the same positive number");
        }
        double s = 0;
        for (int i = 0; i < imageEmbeds.length; i++) {
            s += score(imageEmbeds[i], textEmbeds[i]);
        }
        return s / imageEmbeds.length;
    }

    /** text_embeds of prompts (tokenized to the tokenizer's 77 tokens): one row per prompt. */
    public double[][] textEmbeds(List<String> prompts) {
        if (tokenizer == null) {
            throw new IllegalStateException("CLIP score was loaded without a tokenizer: pass token ids instead");
        }
        List<int[]> ids = new ArrayList<>();
        for (String p : prompts) {
            ids.add(tokenizer.encode(p));
        }
        return textEmbeds(ids.toArray(int[][]::new));
    }

    /** text_embeds of token ids (rows of one length): one row per prompt. */
    public double[][] textEmbeds(int[][] inputIds) {
        List<double[]> rows = new ArrayList<>();
        for (int[] row : inputIds) {
            try (NDScope scope = new NDScope()) {
                NDArray in = ClipTextEncoder.inputIds(manager, new int[][] {row});
                rows.add(FeatureRows.toRows(text.forward(in).textEmbeds())[0]);
            }
        }
        return rows.toArray(double[][]::new);
    }

    /** image_embeds of uint8 RGB images [N, 3, H, W]. */
    public double[][] imageEmbeds(NDArray imagesU8) {
        try (NDScope scope = new NDScope()) {
            return FeatureRows.toRows(vision.forward(processor.apply(imagesU8)).imageEmbeds());
        }
    }

    @Override
    public void close() {
        vision.close();
        manager.close();
    }
}
