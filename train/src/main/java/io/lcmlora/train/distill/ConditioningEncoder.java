package io.lcmlora.train.distill;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.lcmlora.model.clip.CLIPTextModel;
import io.lcmlora.model.clip.CLIPTextModelWithProjection;
import io.lcmlora.model.clip.SdxlPromptEmbeds;
import io.lcmlora.model.clip.SdxlPromptEncoder;
import io.lcmlora.model.vae.AutoencoderKL;
import io.lcmlora.model.unet.UNet2DConditionModel;
import io.lcmlora.model.vae.DiagonalGaussianDistribution;
import io.lcmlora.nn.NoGrad;
import io.lcmlora.pipeline.LoadOptions;
import io.lcmlora.pipeline.SdxlModel;
import io.lcmlora.schedule.SchedulerConfig;
import io.lcmlora.text.ClipTokenizer;
import io.lcmlora.train.config.ConfigException;
import io.lcmlora.train.config.ModelConfig;
import io.lcmlora.train.data.ImageDataset;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The frozen data-path models of the training script: the VAE encoder (latent distribution of each image) and both
 * CLIP text encoders with their tokenizers (prompt embeddings from {@code hidden_states[-2]} of each encoder
 * concatenated, pooled embedding of encoder 2; the script's {@code encode_prompt}, no negatives). The VAE runs in
 * fp32 whatever the weights dtype (SDXL's VAE sets {@code force_upcast}: it overflows in fp16).
 */
public final class ConditioningEncoder implements AutoCloseable {
    private final NDManager manager;
    private final AutoencoderKL vae;
    private final CLIPTextModel textEncoder;
    private final CLIPTextModelWithProjection textEncoder2;
    private final SdxlPromptEncoder prompts;
    private final ClipTokenizer tokenizer1;
    private final ClipTokenizer tokenizer2;

    private ConditioningEncoder(NDManager manager, AutoencoderKL vae, CLIPTextModel textEncoder,
            CLIPTextModelWithProjection textEncoder2, ClipTokenizer tokenizer1, ClipTokenizer tokenizer2) {
        this.manager = manager;
        this.vae = vae;
        this.textEncoder = textEncoder;
        this.textEncoder2 = textEncoder2;
        this.prompts = new SdxlPromptEncoder(textEncoder, textEncoder2, true);
        this.tokenizer1 = tokenizer1;
        this.tokenizer2 = tokenizer2;
    }

    /** Loads the VAE, both text encoders (as {@code textDtype}) and both tokenizers of {@code model}. */
    public static ConditioningEncoder load(ModelConfig model, Device device, DataType textDtype) throws IOException {
        NDManager m = NDManager.newBaseManager(device);
        try {
            AutoencoderKL vae = AutoencoderKL.load(model.component("vae"), m, DataType.FLOAT32);
            CLIPTextModel te1 = CLIPTextModel.load(model.component("text_encoder"), m, textDtype, model.variant());
            CLIPTextModelWithProjection te2 = CLIPTextModelWithProjection.load(model.component("text_encoder_2"), m,
                    textDtype, model.variant());
            ClipTokenizer tok1 = tokenizer(model, "tokenizer", 1);
            ClipTokenizer tok2 = tokenizer(model, "tokenizer_2", 2);
            requireVocabulary("model.tokenizer", model.tokenizer(), tok1, "model.text_encoder", te1.config().vocabSize());
            requireVocabulary("model.tokenizer_2", model.tokenizer2(), tok2, "model.text_encoder_2", te2.config().vocabSize());
            return new ConditioningEncoder(m, vae, te1, te2, tok1, tok2);
        } catch (IOException | RuntimeException e) {
            m.close();
            throw e;
        }
    }

    /** The tokenizer's special ids must be ids of the text encoder's embedding table. */
    static void requireVocabulary(String key, String configured, ClipTokenizer tok, String encoderKey, int vocabSize) {
        int maxId = Math.max(tok.bosId(), Math.max(tok.eosId(), tok.padId()));
        if (maxId >= vocabSize) {
            String which = configured == null ? "is not set, so the bundled SDXL tokenizer was used" : "'" + configured + "'";
            throw new ConfigException(key, which + ", whose token ids reach " + maxId + ", but the text encoder of "
                    + encoderKey + " has a vocabulary of " + vocabSize + ": set " + key
                    + " to the tokenizer folder that belongs to this text encoder");
        }
    }

    /** The model's tokenizer folder, or the bundled SDXL tokenizer when the model has none. */
    static ClipTokenizer tokenizer(ModelConfig model, String component, int which) throws IOException {
        boolean configured = component.equals("tokenizer") ? model.tokenizer() != null : model.tokenizer2() != null;
        if (!configured && (model.path() == null || model.isSingleFile())) {
            return ClipTokenizer.sdxlBundled(which);
        }
        Path dir = model.component(component);
        if (!configured && !Files.isDirectory(dir)) {
            return ClipTokenizer.sdxlBundled(which);
        }
        return ClipTokenizer.load(dir);
    }

    public double scalingFactor() {
        return vae.config().scalingFactor();
    }

    /**
     * An SDXL model of these encoders and {@code unet} for the sampling pipeline; it owns no manager (closing it frees
     * nothing: the encoders stay with this object, the UNet with its caller).
     */
    public SdxlModel sdxlModel(UNet2DConditionModel unet, SchedulerConfig scheduler) {
        LoadOptions placement = LoadOptions.on(unet.layers().values().iterator().next().weight().getDevice(), unet.dtype());
        return new SdxlModel("distill run", unet, vae, textEncoder, textEncoder2, tokenizer1, tokenizer2, scheduler, true,
                placement, List.of(), List.of());
    }

    /** Encodes examples that share one image size (one VAE batch, one text-encoder batch). */
    public List<CachedExample> encode(List<ImageDataset.Example> batch) {
        if (batch.isEmpty()) {
            return List.of();
        }
        int h = batch.get(0).image().height();
        int w = batch.get(0).image().width();
        float[] pixels = new float[batch.size() * 3 * h * w];
        List<String> captions = new ArrayList<>();
        for (int i = 0; i < batch.size(); i++) {
            ImageDataset.Example e = batch.get(i);
            if (e.image().height() != h || e.image().width() != w) {
                throw new IllegalArgumentException("one encoder batch needs one image size: " + e.id() + " is "
                        + e.image().width() + "x" + e.image().height() + ", expected " + w + "x" + h);
            }
            System.arraycopy(e.image().pixels(), 0, pixels, i * 3 * h * w, 3 * h * w);
            captions.add(e.caption());
        }
        List<CachedExample> out = new ArrayList<>();
        try (NDManager sub = manager.newSubManager(); NoGrad ng = NoGrad.open()) {
            NDArray image = sub.create(pixels, new Shape(batch.size(), 3, h, w)); // [B, 3, H, W] in [-1, 1]
            DiagonalGaussianDistribution d = vae.encode(image); // -> [B, C, H/f, W/f]
            float[] mean = toF32(d.mean());
            float[] std = toF32(d.std());
            long[] latent = {d.mean().getShape().get(1), d.mean().getShape().get(2), d.mean().getShape().get(3)};
            SdxlPromptEmbeds pe = prompts.encode(sub, tokenizer1::encode, tokenizer2::encode,
                    SdxlPromptEncoder.Prompts.of(captions.toArray(String[]::new)),
                    SdxlPromptEncoder.Options.DEFAULT.withClassifierFreeGuidance(false));
            float[] embeds = toF32(pe.promptEmbeds()); // [B, T, D]
            float[] pooled = toF32(pe.pooledPromptEmbeds()); // [B, P]
            long[] embedShape = {pe.promptEmbeds().getShape().get(1), pe.promptEmbeds().getShape().get(2)};
            int lat = Math.toIntExact(latent[0] * latent[1] * latent[2]);
            int emb = Math.toIntExact(embedShape[0] * embedShape[1]);
            int pool = pooled.length / batch.size();
            for (int i = 0; i < batch.size(); i++) {
                ImageDataset.Example e = batch.get(i);
                out.add(new CachedExample(e.index(), latent, slice(mean, i, lat), slice(std, i, lat), embedShape,
                        slice(embeds, i, emb), slice(pooled, i, pool), e.image().conditioning().timeIds()));
            }
        }
        return out;
    }

    private static float[] toF32(NDArray x) {
        if (x.getDataType() == DataType.FLOAT32) {
            return x.toFloatArray();
        }
        try (NDArray f = x.toType(DataType.FLOAT32, false)) {
            return f.toFloatArray();
        }
    }

    private static float[] slice(float[] all, int i, int n) {
        float[] r = new float[n];
        System.arraycopy(all, i * n, r, 0, n);
        return r;
    }

    @Override
    public void close() {
        manager.close();
    }
}
