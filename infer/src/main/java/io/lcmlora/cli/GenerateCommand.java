package io.lcmlora.cli;

import ai.djl.Device;
import io.lcmlora.engine.DeviceSpec;
import io.lcmlora.engine.Precision;
import io.lcmlora.singlefile.SingleFileConfigs;
import io.lcmlora.pipeline.GeneratedImage;
import io.lcmlora.pipeline.GenerationRequest;
import io.lcmlora.pipeline.LoadOptions;
import io.lcmlora.pipeline.LoraSpec;
import io.lcmlora.pipeline.ModelSource;
import io.lcmlora.pipeline.PngImages;
import io.lcmlora.pipeline.Progress;
import io.lcmlora.pipeline.PromptFile;
import io.lcmlora.pipeline.SdxlModel;
import io.lcmlora.pipeline.SdxlPipeline;
import io.lcmlora.schedule.SamplerOptions;
import io.lcmlora.schedule.SchedulerKind;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code lcm generate}: prompts to PNG files with an SDXL model, LoRA adapters and the LCM or DDIM sampler. */
@Command(name = "generate", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Generate PNG images (text-to-image, or image-to-image with --image) with an SDXL model and LoRAs.")
public final class GenerateCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "PATH",
            description = "diffusers SDXL folder (model_index.json) or single-file SDXL .safetensors checkpoint")
    Path model;

    @Mixin
    SingleFileOptions singleFile;

    @Option(names = "--lora", paramLabel = "FILE[:WEIGHT]", description = "LoRA file and weight (default 1); repeatable")
    List<String> loras = new ArrayList<>();

    static final class PromptSource {
        @Option(names = "--prompt", paramLabel = "TEXT", description = "the prompt")
        String prompt;

        @Option(names = "--prompts", paramLabel = "FILE",
                description = "one prompt per line, or JSON lines {\"prompt\", \"negative_prompt\", \"seed\"}")
        Path prompts;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    PromptSource source;

    @Option(names = "--negative-prompt", paramLabel = "TEXT", description = "used only when --guidance > 1")
    String negativePrompt;

    @Option(names = "--steps", defaultValue = "4", description = "denoising steps (default ${DEFAULT-VALUE})")
    int steps;

    @Option(names = "--guidance", defaultValue = "1.0",
            description = "classifier-free guidance scale; <= 1 runs no unconditional pass (default ${DEFAULT-VALUE})")
    double guidance;

    @Option(names = "--seed", defaultValue = "0", description = "image k of a prompt uses seed + k (default ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--scheduler", defaultValue = "lcm", description = "lcm, ddim, euler or tcd (default ${DEFAULT-VALUE})")
    String scheduler;

    @Option(names = "--timesteps", split = ",", paramLabel = "T",
            description = "custom LCM/TCD timesteps, e.g. 999,749,499,249 (DMD2); sets the step count")
    long[] timesteps;

    @Option(names = "--spacing", paramLabel = "S",
            description = "DDIM/Euler timestep spacing: leading, trailing (Lightning, Hyper-SD, PCM) or linspace"
                    + " (default: the model's scheduler config)")
    String spacing;

    @Option(names = "--eta", paramLabel = "G", description = "TCD gamma (default 0.3; Hyper-SD 1-step: 1.0) or DDIM eta (default 0)")
    Double eta;

    @Option(names = "--image", paramLabel = "IN", description = "img2img input image (PNG, JPEG, ...)")
    Path image;

    @Option(names = "--strength", defaultValue = "0.3", description = "img2img strength in (0, 1] (default ${DEFAULT-VALUE})")
    double strength;

    @Option(names = "--width", defaultValue = "0", description = "pixels (default: the model's, or the input image's)")
    int width;

    @Option(names = "--height", defaultValue = "0", description = "pixels (default: as width)")
    int height;

    @Option(names = "--images-per-prompt", defaultValue = "1")
    int imagesPerPrompt;

    @Option(names = "--strict", description = "refuse LoRA files with keys that are not adapter tensors (default: skip and count them)")
    boolean strict;

    @Option(names = "--fuse-lora", description = "fuse the LoRAs into the UNet weights before sampling (faster steps)")
    boolean fuseLora;

    @Option(names = "--device", defaultValue = "cpu", description = "auto, cpu, gpu or gpu:N (default ${DEFAULT-VALUE})")
    String device;

    @Option(names = "--dtype", defaultValue = "fp32", description = "UNet and text encoders: fp32, fp16 (GPU) or bf16 (JNI from tools/build-jni.sh); the VAE stays fp32")
    String dtype;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "output folder")
    Path out;

    @Override
    public Integer call() throws Exception {
        List<GenerationRequest> requests = requests();
        LoadOptions options = LoadOptions.on(DeviceSpec.parse(device).resolve(), Precision.parse(dtype).dataType());
        List<LoraSpec> specs = loras.stream().map(LoraSpec::parse).toList();
        boolean tty = System.console() != null;
        Path tokenizers = singleFile.configFrom != null && Files.isDirectory(singleFile.configFrom.resolve("tokenizer"))
                ? singleFile.configFrom : null;
        run(model, singleFile.configs(), tokenizers, options, specs, fuseLora, strict, requests, out,
                Progress.terminal(System.err, tty), System.err);
        return 0;
    }

    /** The requests the options describe: one per prompt (file lines give their own negative prompt and seed). */
    List<GenerationRequest> requests() throws IOException {
        BufferedImage init = image == null ? null : PngImages.read(image);
        SamplerOptions sampler = new SamplerOptions(SchedulerKind.parse(scheduler), steps, timesteps,
                SamplerOptions.parseSpacing(spacing), eta);
        List<PromptFile.Entry> entries = source.prompt != null ? List.of(new PromptFile.Entry(source.prompt, null, null))
                : PromptFile.read(source.prompts);
        List<GenerationRequest> out = new ArrayList<>();
        for (PromptFile.Entry e : entries) {
            out.add(new GenerationRequest(e.prompt(), e.negativePrompt() != null ? e.negativePrompt() : negativePrompt,
                    e.seed() != null ? e.seed() : seed, sampler, guidance, width, height, imagesPerPrompt, init, strength));
        }
        return out;
    }

    /**
     * The command's work, callable from tests: loads the model ({@link ModelSource}: single files with
     * {@code configs} and the tokenizer folders of {@code tokenizers}, nulls for the defaults) and the LoRAs, runs every
     * request and writes {@code out/NNNNN-SEED.png}; returns the files written.
     */
    public static List<Path> run(Path model, SingleFileConfigs configs, Path tokenizers, LoadOptions options,
            List<LoraSpec> loras, boolean fuse, List<GenerationRequest> requests, Path out, Progress progress, PrintStream log)
            throws IOException {
        return run(model, configs, tokenizers, options, loras, fuse, false, requests, out, progress, log);
    }

    /** {@link #run} with {@code --strict}. */
    public static List<Path> run(Path model, SingleFileConfigs configs, Path tokenizers, LoadOptions options,
            List<LoraSpec> loras, boolean fuse, boolean strict, List<GenerationRequest> requests, Path out, Progress progress,
            PrintStream log) throws IOException {
        List<Path> written = new ArrayList<>();
        try (SdxlModel m = ModelSource.open(model, options, configs, tokenizers); SdxlPipeline pipe = new SdxlPipeline(m)) {
            pipe.strict(strict);
            m.notes().forEach(n -> log.println("note: " + n));
            for (LoraSpec l : loras) {
                pipe.loadLora(l);
            }
            pipe.notes().forEach(n -> log.println("note: " + n));
            if (fuse) {
                pipe.fuseLoras();
            }
            pipe.progress(progress);
            for (GenerationRequest r : requests) {
                for (GeneratedImage img : pipe.generate(r)) {
                    Path file = out.resolve(String.format(Locale.ROOT, "%05d-%d.png", written.size(), img.seed()));
                    img.writePng(file);
                    written.add(file);
                    log.println("wrote " + file);
                }
            }
        }
        return written;
    }
}
