package io.lcmlora.train.pretrain;

import io.lcmlora.engine.Precision;
import io.lcmlora.train.config.Check;
import io.lcmlora.train.config.ConfigException;
import io.lcmlora.train.config.Nullable;
import java.util.List;

/**
 * One stage of the demo's from-scratch teacher (bound strictly from YAML by {@link io.lcmlora.train.config.RecordYaml};
 * the defaults are the shipped twitter UNet run, {@code configs/demo/pretrain-unet.yaml}).
 *
 * @param stage what to train: {@code vae}, {@code text}, {@code unet}, {@code finetune}
 * @param data the built emoji sets ({@code lcm data emoji}), holding {@code <style>/manifest[-32].jsonl}
 * @param style the emoji style trained on ({@code twitter}, {@code google})
 * @param resolution image size: 32 ({@code manifest-32.jsonl}) or 64 ({@code manifest.jsonl})
 * @param base unet: the folder holding {@code vae/} and the text parts; finetune: the teacher folder to continue
 *     from (its UNet, VAE and text parts); unused by the vae and text stages
 * @param outputDir vae / text: the parts folder they add {@code vae/} or the text parts to; unet / finetune: the
 *     diffusers SDXL folder written
 * @param seed seeds initialisation, data order, noise, timesteps and dropout
 */
public record PretrainConfig(
        Stage stage,
        String data,
        String style,
        int resolution,
        @Nullable String base,
        String outputDir,
        Vae vae,
        Text text,
        Unet unet,
        Training train,
        Preview preview,
        long seed) {

    /** The stages, in the order a from-scratch run goes through them. */
    public enum Stage {
        VAE,
        TEXT,
        UNET,
        FINETUNE
    }

    public PretrainConfig {
        if (stage == null || vae == null || text == null || unet == null || train == null || preview == null) {
            throw new ConfigException("<root>", "stage and every section must be present");
        }
        Check.notBlank("data", data);
        Check.notBlank("style", style);
        if (resolution != 32 && resolution != 64) {
            throw new ConfigException("resolution", "must be 32 or 64 (the sizes `lcm data emoji` builds), got " + resolution);
        }
        Check.notBlank("output_dir", outputDir);
        if ((stage == Stage.UNET || stage == Stage.FINETUNE) && (base == null || base.isBlank())) {
            throw new ConfigException("base", "the " + stage.name().toLowerCase() + " stage needs the folder with the VAE "
                    + "and text parts" + (stage == Stage.FINETUNE ? " and the UNet to continue from" : ""));
        }
        Check.range("seed", seed, 0, Long.MAX_VALUE);
    }

    public static PretrainConfig defaults() {
        return new PretrainConfig(Stage.UNET, "data/emoji", "twitter", 32, "runs/demo/parts", "runs/demo/teacher-twitter",
                Vae.defaults(), Text.defaults(), Unet.defaults(), Training.defaults(), Preview.defaults(), 0);
    }

    /**
     * The AutoencoderKL shape (diffusers field names) and its loss: mean squared pixel error plus {@code kl_weight}
     * times the mean KL divergence of the latent posterior from N(0, 1) per latent element.
     */
    public record Vae(List<Integer> blockOutChannels, int layersPerBlock, int latentChannels, int normNumGroups,
            double klWeight) {
        public Vae {
            if (blockOutChannels == null || blockOutChannels.isEmpty()) {
                throw new ConfigException("block_out_channels", "must list at least one width");
            }
            blockOutChannels = List.copyOf(blockOutChannels);
            Check.range("layers_per_block", layersPerBlock, 1, 8);
            Check.range("latent_channels", latentChannels, 1, 64);
            Check.range("norm_num_groups", normNumGroups, 1, 1024);
            for (int c : blockOutChannels) {
                Check.multipleOf("block_out_channels", c, normNumGroups);
            }
            Check.closed("kl_weight", klWeight, 0, 1);
        }

        /** 32 px -> 8x8x4 latents (three levels, f = 4). */
        public static Vae defaults() {
            return new Vae(List.of(16, 32, 64), 1, 4, 8, 1e-4);
        }
    }

    /** The two frozen CLIP text encoders (random, seeded) and the caption BPE shared by both tokenizers. */
    public record Text(int vocabSize, ClipSize encoder1, ClipSize encoder2) {
        public Text {
            Check.range("vocab_size", vocabSize, io.lcmlora.text.ClipBpeTrainer.BASE_VOCAB, 49408);
            if (encoder1 == null || encoder2 == null) {
                throw new ConfigException("encoder1/encoder2", "must be present");
            }
        }

        public static Text defaults() {
            return new Text(1000, new ClipSize(32, 64, 2, 4), new ClipSize(32, 64, 2, 2));
        }
    }

    /** One CLIP text tower's size (encoder 2's projection has its hidden size, as in SDXL). */
    public record ClipSize(int hiddenSize, int intermediateSize, int numHiddenLayers, int numAttentionHeads) {
        public ClipSize {
            Check.range("hidden_size", hiddenSize, 1, 4096);
            Check.range("intermediate_size", intermediateSize, 1, 16384);
            Check.range("num_hidden_layers", numHiddenLayers, 2, 64); // SDXL reads hidden_states[-2]
            Check.range("num_attention_heads", numAttentionHeads, 1, 64);
            if (hiddenSize % numAttentionHeads != 0) {
                throw new ConfigException("num_attention_heads", "must divide hidden_size " + hiddenSize);
            }
        }
    }

    /**
     * The SDXL-shaped UNet (DownBlock2D, then CrossAttnDownBlock2D levels; mirrored up blocks): diffusers field
     * names, {@code attention_heads} being SDXL's {@code attention_head_dim} (heads per level).
     */
    public record Unet(List<Integer> blockOutChannels, int layersPerBlock, List<Integer> transformerLayersPerBlock,
            List<Integer> attentionHeads, int normNumGroups, int additionTimeEmbedDim) {
        public Unet {
            if (blockOutChannels == null || blockOutChannels.size() < 2) {
                throw new ConfigException("block_out_channels", "must list at least two levels");
            }
            blockOutChannels = List.copyOf(blockOutChannels);
            transformerLayersPerBlock = List.copyOf(transformerLayersPerBlock);
            attentionHeads = List.copyOf(attentionHeads);
            if (transformerLayersPerBlock.size() != blockOutChannels.size() || attentionHeads.size() != blockOutChannels.size()) {
                throw new ConfigException("transformer_layers_per_block/attention_heads", "need one entry per block_out_channels entry");
            }
            Check.range("layers_per_block", layersPerBlock, 1, 8);
            Check.range("norm_num_groups", normNumGroups, 1, 1024);
            Check.range("addition_time_embed_dim", additionTimeEmbedDim, 2, 4096);
            Check.multipleOf("addition_time_embed_dim", additionTimeEmbedDim, 2);
        }

        public static Unet defaults() {
            return new Unet(List.of(64, 96, 112), 1, List.of(1, 1, 1), List.of(1, 3, 4), 16, 8);
        }
    }

    /**
     * The optimisation: AdamW (torch semantics), linear warm-up then half-cosine to 0 over {@code steps}, global-norm
     * clipping, an EMA of the weights (what is saved; 0 turns it off), and for the UNet the share of captions
     * replaced by the empty (all-zero) conditioning. {@code saveDtype} is the weight files' precision (the project's
     * one {@link Precision}: fp32, fp16 or bf16); the models are trained in fp32 either way.
     */
    public record Training(int steps, int batchSize, double learningRate, int warmupSteps, double weightDecay,
            double maxGradNorm, double emaDecay, double cfgDropout, int logEvery, Precision saveDtype) {
        public Training {
            Check.range("steps", steps, 0, 10_000_000);
            Check.range("batch_size", batchSize, 1, 4096);
            Check.openClosed("learning_rate", learningRate, 0, 1);
            Check.range("warmup_steps", warmupSteps, 0, 10_000_000);
            Check.closed("weight_decay", weightDecay, 0, 1);
            Check.openClosed("max_grad_norm", maxGradNorm, 0, 1e9);
            Check.closedOpen("ema_decay", emaDecay, 0, 1);
            Check.closedOpen("cfg_dropout", cfgDropout, 0, 1);
            Check.range("log_every", logEvery, 1, 1_000_000);
            if (saveDtype == null) {
                throw new ConfigException("save_dtype", "must be fp32, fp16 or bf16");
            }
        }

        public static Training defaults() {
            return new Training(3000, 64, 1e-3, 100, 0.01, 1.0, 0.999, 0.1, 100, Precision.FP16);
        }
    }

    /**
     * A DDIM preview of the result (unet / finetune) through the SDXL pipeline: {@code images} held-out captions
     * spread evenly over the manifest, {@code steps} DDIM steps at guidance {@code guidance_scale}, seed {@code seed}, written as
     * {@code preview.png}; 0 images turns it off.
     */
    public record Preview(int images, int steps, double guidanceScale, long seed) {
        public Preview {
            Check.range("images", images, 0, 1024);
            Check.range("steps", steps, 1, 1000);
            Check.closed("guidance_scale", guidanceScale, 0, 100);
        }

        public static Preview defaults() {
            return new Preview(16, 50, 5.0, 0);
        }
    }
}
