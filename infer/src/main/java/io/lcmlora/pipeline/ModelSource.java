package io.lcmlora.pipeline;

import ai.djl.ndarray.NDManager;
import io.lcmlora.singlefile.BundledScheduler;
import io.lcmlora.singlefile.SingleFileCheckpoint;
import io.lcmlora.singlefile.SingleFileConfigs;
import io.lcmlora.model.clip.CLIPTextModel;
import io.lcmlora.model.clip.CLIPTextModelWithProjection;
import io.lcmlora.model.unet.UNet2DConditionModel;
import io.lcmlora.model.vae.AutoencoderKL;
import io.lcmlora.text.ClipTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** What {@code --model} names: a diffusers SDXL folder or a single-file SDXL checkpoint. */
public final class ModelSource {
    private ModelSource() {}

    /** {@link #open(Path, LoadOptions, SingleFileConfigs, Path)} with detected configs and the bundled tokenizers. */
    public static SdxlModel open(Path path, LoadOptions options) throws IOException {
        return open(path, options, null, null);
    }

    /**
     * Opens {@code path} as an {@link SdxlModel}: a folder through {@link SdxlModel#load}; a {@code .safetensors}
     * file as a single-file checkpoint (all four models required) read with {@code configs} (null: the preset whose
     * shapes fit), with the tokenizer/ and tokenizer_2/ folders of {@code tokenizers} (null: the bundled SDXL
     * tokenizers), SDXL's scheduler config and {@code force_zeros_for_empty_prompt} true.
     */
    public static SdxlModel open(Path path, LoadOptions options, SingleFileConfigs configs, Path tokenizers) throws IOException {
        if (Files.isDirectory(path)) {
            return SdxlModel.load(path, options);
        }
        if (!Files.exists(path)) {
            throw new IOException(path + ": no such model folder or file");
        }
        String name = path.getFileName().toString().toLowerCase(Locale.ROOT);
        if (!name.endsWith(".safetensors")) {
            throw new IOException(path + ": expected a diffusers SDXL folder (with model_index.json) or a .safetensors "
                    + "checkpoint; .ckpt/.bin pickle files are never loaded");
        }
        return openSingleFile(path, options, configs, tokenizers);
    }

    private static SdxlModel openSingleFile(Path path, LoadOptions options, SingleFileConfigs configs, Path tokenizers)
            throws IOException {
        List<NDManager> managers = new ArrayList<>();
        try (SingleFileCheckpoint ck = SingleFileCheckpoint.open(path)) {
            ck.requireComplete();
            SingleFileConfigs cfg = configs != null ? configs : ck.configs();
            NDManager um = NDManager.newBaseManager(options.unet().device());
            managers.add(um);
            UNet2DConditionModel unet = ck.unet(cfg, um, options.unet().dtype());
            NDManager vm = NDManager.newBaseManager(options.vae().device());
            managers.add(vm);
            AutoencoderKL vae = ck.vae(cfg, vm, options.vae().dtype());
            NDManager tm = NDManager.newBaseManager(options.textEncoders().device());
            managers.add(tm);
            CLIPTextModel te1 = ck.textEncoder(cfg, tm, options.textEncoders().dtype());
            CLIPTextModelWithProjection te2 = ck.textEncoder2(cfg, tm, options.textEncoders().dtype());
            ClipTokenizer tok1 = tokenizers == null ? ClipTokenizer.sdxlBundled(1) : ClipTokenizer.load(tokenizers.resolve("tokenizer"));
            ClipTokenizer tok2 = tokenizers == null ? ClipTokenizer.sdxlBundled(2) : ClipTokenizer.load(tokenizers.resolve("tokenizer_2"));
            List<String> notes = new ArrayList<>();
            notes.add("single-file checkpoint read with " + cfg.source() + ", tokenizers "
                    + (tokenizers == null ? "bundled (SDXL)" : "from " + tokenizers) + ", SDXL's scheduler config");
            if (!ck.otherKeys().isEmpty()) {
                notes.add(ck.otherKeys().size() + " tensor(s) outside the four models were not read (e.g. "
                        + ck.otherKeys().get(0) + ")");
            }
            return new SdxlModel(path.toString(), unet, vae, te1, te2, tok1, tok2, BundledScheduler.sdxl(), true, options, notes,
                    managers);
        } catch (IOException | RuntimeException e) {
            managers.forEach(NDManager::close);
            throw e;
        }
    }
}
