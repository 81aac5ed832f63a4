package io.lcmlora.train.pretrain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.google.gson.JsonObject;
import io.lcmlora.io.ConfigJson;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.model.clip.SdxlPromptEmbeds;
import io.lcmlora.model.clip.SdxlPromptEncoder;
import io.lcmlora.model.unet.UNet2DConditionModel;
import io.lcmlora.model.vae.AutoencoderKL;
import io.lcmlora.schedule.SchedulerConfig;
import io.lcmlora.text.ClipTokenizer;
import io.lcmlora.train.cli.Main;
import io.lcmlora.train.config.RecordYaml;
import io.lcmlora.train.distill.OneEngineThread;
import java.awt.image.BufferedImage;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The four stages end to end on a synthetic emoji set (tiny models, a few steps): each output loads unchanged
 * through the toolkit's diffusers loaders, and a stage whose output exists is skipped.
 */
@ExtendWith(OneEngineThread.class)
class PretrainStagesTest {
    @TempDir
    static Path root;
    static Path data;
    static final List<String> LOG = new ArrayList<>();

    static final String COMMON = """
            data: %s
            resolution: 32
            vae: {block_out_channels: [8, 16], layers_per_block: 1, latent_channels: 4, norm_num_groups: 4, kl_weight: 1.0e-4}
            text:
              vocab_size: 600
              encoder1: {hidden_size: 16, intermediate_size: 32, num_hidden_layers: 2, num_attention_heads: 2}
              encoder2: {hidden_size: 16, intermediate_size: 32, num_hidden_layers: 2, num_attention_heads: 2}
            unet: {block_out_channels: [16, 32], layers_per_block: 1, transformer_layers_per_block: [1, 1],
                   attention_heads: [1, 2], norm_num_groups: 8, addition_time_embed_dim: 4}
            preview: {images: 3, steps: 2, guidance_scale: 3.0}
            """;

    @BeforeAll
    static void buildStages() throws Exception {
        data = root.resolve("emoji");
        String[] names = {"red heart", "blue circle", "green square", "yellow face", "black cat", "white flag"};
        for (String style : new String[] {"twitter", "google"}) {
            Path dir = data.resolve(style);
            Files.createDirectories(dir.resolve("img32"));
            StringBuilder manifest = new StringBuilder();
            for (int i = 0; i < names.length; i++) {
                BufferedImage img = new BufferedImage(32, 32, BufferedImage.TYPE_INT_RGB);
                for (int y = 0; y < 32; y++) {
                    for (int x = 0; x < 32; x++) {
                        boolean inside = Math.abs(x - 16) + Math.abs(y - 16) < 6 + 2 * i;
                        img.setRGB(x, y, inside ? (style.equals("google") ? 0x3060c0 : 0xc03030) * (i + 1) & 0xffffff : 0xffffff);
                    }
                }
                ImageIO.write(img, "png", dir.resolve("img32/" + i + ".png").toFile());
                JsonObject row = new JsonObject();
                row.addProperty("image", "img32/" + i + ".png");
                row.addProperty("caption", names[i] + ", test, " + style);
                row.addProperty("split", i < 4 ? "train" : "heldout");
                manifest.append(row).append('\n');
            }
            Files.writeString(dir.resolve("manifest-32.jsonl"), manifest);
        }
        run("stage: text\noutput_dir: " + root.resolve("parts"));
        run("stage: vae\nstyle: twitter\noutput_dir: " + root.resolve("parts") + "\ntrain: {steps: 3, batch_size: 2, log_every: 1, save_dtype: fp32}");
        run("stage: unet\nstyle: twitter\nbase: " + root.resolve("parts") + "\noutput_dir: " + root.resolve("teacher-twitter")
                + "\ntrain: {steps: 3, batch_size: 2, log_every: 1, ema_decay: 0.9, save_dtype: fp32}");
        run("stage: finetune\nstyle: google\nbase: " + root.resolve("teacher-twitter") + "\noutput_dir: "
                + root.resolve("teacher-google") + "\ntrain: {steps: 2, batch_size: 2, log_every: 1, warmup_steps: 0, save_dtype: fp16}");
    }

    static boolean run(String stageYaml) throws Exception {
        PretrainConfig c = RecordYaml.parse(COMMON.formatted(data) + stageYaml, PretrainConfig.class, PretrainConfig.defaults(),
                List.of());
        return Pretrain.run(c, false, LOG::add);
    }

    @Test
    void teacherFoldersLoadAsDiffusersSdxlFolders() throws Exception {
        for (String name : new String[] {"teacher-twitter", "teacher-google"}) {
            Path dir = root.resolve(name);
            ConfigJson index = ConfigJson.read(dir.resolve("model_index.json"));
            assertEquals("StableDiffusionXLPipeline", index.getString("_class_name"));
            assertTrue(index.getBool("force_zeros_for_empty_prompt", false));
            SchedulerConfig sched = SchedulerConfig.fromJson(ConfigJson.read(dir.resolve("scheduler/scheduler_config.json")));
            assertEquals(SchedulerConfig.sdxl(), sched);
            try (NDManager m = NDManager.newBaseManager()) {
                UNet2DConditionModel unet = UNet2DConditionModel.load(dir.resolve("unet"), null, m, DataType.FLOAT32);
                AutoencoderKL vae = AutoencoderKL.load(dir, m, DataType.FLOAT32);
                SdxlPromptEncoder enc = SdxlPromptEncoder.load(dir, m, DataType.FLOAT32, null, null);
                ClipTokenizer t1 = ClipTokenizer.load(dir.resolve("tokenizer"));
                ClipTokenizer t2 = ClipTokenizer.load(dir.resolve("tokenizer_2"));
                assertEquals(2, vae.config().downscale());
                assertEquals(16, unet.config().sampleSize());
                assertEquals(32, unet.config().crossAttentionDim()[0]);
                SdxlPromptEmbeds e = enc.encode(m, t1::encode, t2::encode, SdxlPromptEncoder.Prompts.of("red heart", "black cat"),
                        SdxlPromptEncoder.Options.DEFAULT);
                assertEquals(List.of(2L, 77L, 32L), List.of(e.promptEmbeds().getShape().get(0),
                        e.promptEmbeds().getShape().get(1), e.promptEmbeds().getShape().get(2)));
                assertEquals(0f, e.negativePromptEmbeds().abs().sum().getFloat(), "unconditional = zeros");
                NDArray diff = e.promptEmbeds().get(0).sub(e.promptEmbeds().get(1)).abs().max();
                assertTrue(diff.getFloat() > 1e-3, "two captions, two contexts");
                assertTrue(vae.config().scalingFactor() > 0 && vae.config().scalingFactor() != 1.0);
            }
            assertTrue(Files.size(dir.resolve("preview.png")) > 0);
            BufferedImage grid = ImageIO.read(dir.resolve("preview.png").toFile());
            assertEquals(64, grid.getWidth()); // 3 images: 2 columns of 32 px
            assertEquals(List.of("white flag, test, " + (name.endsWith("google") ? "google" : "twitter")).get(0),
                    Files.readAllLines(dir.resolve("preview.txt")).get(1));
        }
    }

    @Test
    void finetuneContinuesTheTeacherAndSavesFp16() throws Exception {
        try (SafeTensorsFile tw = SafeTensorsFile.open(root.resolve("teacher-twitter/unet/diffusion_pytorch_model.safetensors"));
                SafeTensorsFile go = SafeTensorsFile.open(root.resolve("teacher-google/unet/diffusion_pytorch_model.safetensors"))) {
            assertEquals(tw.tensors().keySet(), go.tensors().keySet());
            assertEquals("F32", tw.info("conv_in.weight").dtype().name());
            assertEquals("F16", go.info("conv_in.weight").dtype().name());
            float[] a = tw.floats("conv_in.weight");
            float[] b = go.floats("conv_in.weight");
            double maxDiff = 0;
            for (int i = 0; i < a.length; i++) {
                maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
            }
            assertTrue(maxDiff > 1e-4 && maxDiff < 0.1, "fine-tuned from the teacher, not from scratch: " + maxDiff);
        }
        assertEquals(Files.readString(root.resolve("teacher-twitter/vae/config.json")),
                Files.readString(root.resolve("teacher-google/vae/config.json")));
        // an fp16 stage stores the copied parts in fp16 too: the same values, rounded
        try (SafeTensorsFile tw = SafeTensorsFile.open(root.resolve("teacher-twitter/vae/diffusion_pytorch_model.safetensors"));
                SafeTensorsFile go = SafeTensorsFile.open(root.resolve("teacher-google/vae/diffusion_pytorch_model.safetensors"))) {
            String name = "decoder.conv_out.weight";
            assertEquals("F32", tw.info(name).dtype().name());
            assertEquals("F16", go.info(name).dtype().name());
            float[] a = tw.floats(name);
            float[] b = go.floats(name);
            for (int i = 0; i < a.length; i++) {
                assertEquals(a[i], b[i], Math.abs(a[i]) * 1e-3 + 1e-7, name + "[" + i + "]");
            }
        }
    }

    @Test
    void finishedStagesAreSkippedAndTheCommandRuns() throws Exception {
        assertFalse(run("stage: vae\nstyle: twitter\noutput_dir: " + root.resolve("parts")));
        Path cfg = root.resolve("text.yaml");
        Files.writeString(cfg, COMMON.formatted(data) + "stage: text\noutput_dir: " + root.resolve("parts") + "\n");
        StringWriter out = new StringWriter();
        var cli = Main.commandLine();
        cli.setOut(new PrintWriter(out));
        assertEquals(0, cli.execute("pretrain", "--config", cfg.toString(), "--set", "text.vocab_size=700"));
        assertTrue(out.toString().contains("skipping"), out.toString());
        StringWriter printed = new StringWriter();
        cli.setOut(new PrintWriter(printed));
        assertEquals(0, cli.execute("pretrain", "--config", cfg.toString(), "--set", "text.vocab_size=700", "--print-config"));
        assertTrue(printed.toString().contains("vocab_size: 700"), printed.toString());
        StringWriter err = new StringWriter();
        cli.setErr(new PrintWriter(err));
        assertNotEquals(0, cli.execute("pretrain", "--config", cfg.toString(), "--set", "unet.layers_per_blok=2"));
        assertTrue(err.toString().contains("unet.layers_per_block"), err.toString());
    }
}
