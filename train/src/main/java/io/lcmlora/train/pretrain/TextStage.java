package io.lcmlora.train.pretrain;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.lcmlora.io.DType;
import io.lcmlora.model.clip.CLIPTextModel;
import io.lcmlora.model.clip.CLIPTextModelWithProjection;
import io.lcmlora.model.clip.ClipTextConfig;
import io.lcmlora.text.ClipBpeTrainer;
import io.lcmlora.text.ClipTokenizer;
import io.lcmlora.train.emoji.EmojiManifest;
import io.lcmlora.train.loop.Rng;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The {@code text} stage: SDXL's two text towers at tiny size, frozen at their (seeded, transformers-style) random
 * initialisation, and a caption BPE for both tokenizers. Nothing is trained: a random transformer is still an
 * injective-in-practice function of the token ids, so every distinct caption gets a distinct context and pooled
 * embedding, and the UNet's cross-attention and added-embedding layers learn what they mean. The BPE is learned
 * from the train-split captions of every style ({@code vocab_size} ids: 512 byte symbols, the merges, then
 * {@code <|startoftext|>}, {@code <|endoftext|>}), so caption words are single tokens. Writes {@code text_encoder/},
 * {@code text_encoder_2/}, {@code tokenizer/} (pads with end-of-text) and {@code tokenizer_2/} (pads with {@code !})
 * under {@code output_dir}.
 */
final class TextStage {
    private TextStage() {}

    /** What the stage produced: vocabulary size, caption counts and token statistics. */
    record Result(int vocabSize, int captions, int distinctCaptions, int distinctIdSequences, double meanTokens, int maxTokens) {}

    static ClipTextConfig encoderConfig(PretrainConfig.ClipSize s, int vocab, boolean projection) {
        return new ClipTextConfig(vocab, s.hiddenSize(), s.intermediateSize(), s.hiddenSize(), s.numHiddenLayers(),
                s.numAttentionHeads(), ClipTokenizer.DEFAULT_MAX_LENGTH,
                projection ? ClipTextConfig.HiddenAct.GELU : ClipTextConfig.HiddenAct.QUICK_GELU, 1e-5, vocab - 1,
                List.of(projection ? "CLIPTextModelWithProjection" : "CLIPTextModel"));
    }

    static Result write(PretrainConfig c, Consumer<String> log) throws IOException {
        List<String> captions = new ArrayList<>();
        for (String style : EmojiManifest.STYLES) {
            captions.addAll(EmojiImages.captions(Path.of(c.data()), style, c.resolution(), "train"));
        }
        ClipBpeTrainer.Vocabulary vocab = ClipBpeTrainer.train(captions, c.text().vocabSize());
        int v = vocab.size();
        Path out = Path.of(c.outputDir());
        Path tok1 = DiffusersFolder.staging(out.resolve("tokenizer"));
        Path tok2 = DiffusersFolder.staging(out.resolve("tokenizer_2"));
        ClipBpeTrainer.writeFolder(vocab, tok1, ClipTokenizer.END_OF_TEXT);
        ClipBpeTrainer.writeFolder(vocab, tok2, "!");
        ClipTextConfig c1 = encoderConfig(c.text().encoder1(), v, false);
        ClipTextConfig c2 = encoderConfig(c.text().encoder2(), v, true);
        Path te1 = DiffusersFolder.staging(out.resolve("text_encoder"));
        Path te2 = DiffusersFolder.staging(out.resolve("text_encoder_2"));
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> p1 = ParamInit.clip(m, ParamInit.shapes(vb -> new CLIPTextModel(vb, c1)), c1,
                    Rng.stream(c.seed(), "text_encoder"));
            Map<String, NDArray> p2 = ParamInit.clip(m, ParamInit.shapes(vb -> new CLIPTextModelWithProjection(vb, c2)), c2,
                    Rng.stream(c.seed(), "text_encoder_2"));
            DiffusersFolder.writeComponent(te1, c1.toJson(v - 2, v - 1), DiffusersFolder.TRANSFORMERS_WEIGHTS, p1, DType.F32);
            DiffusersFolder.writeComponent(te2, c2.toJson(v - 2, 0), DiffusersFolder.TRANSFORMERS_WEIGHTS, p2, DType.F32);
        }
        ClipTokenizer tokenizer = ClipTokenizer.load(tok1);
        Set<String> distinct = new HashSet<>(captions);
        Set<String> sequences = new HashSet<>();
        long tokens = 0;
        int max = 0;
        for (String caption : distinct) {
            int[] ids = tokenizer.encodeUnpadded(caption);
            sequences.add(java.util.Arrays.toString(ids));
            tokens += ids.length;
            max = Math.max(max, ids.length);
        }
        DiffusersFolder.publish(tok1, out.resolve("tokenizer"));
        DiffusersFolder.publish(tok2, out.resolve("tokenizer_2"));
        DiffusersFolder.publish(te1, out.resolve("text_encoder"));
        DiffusersFolder.publish(te2, out.resolve("text_encoder_2"));
        Result r = new Result(v, captions.size(), distinct.size(), sequences.size(), (double) tokens / distinct.size(), max);
        log.accept(String.format("text: caption BPE of %d ids (%d merges) from %d captions; %d distinct captions -> %d "
                + "distinct id sequences, %.1f tokens on average (max %d, with bos/eos); encoders %s / %s", v,
                vocab.merges().size(), r.captions(), r.distinctCaptions(), r.distinctIdSequences(), r.meanTokens(), max,
                c.text().encoder1(), c.text().encoder2()));
        return r;
    }
}
