package io.lcmlora.cli;

import ai.djl.ndarray.NDManager;
import io.lcmlora.io.ComponentPath;
import io.lcmlora.io.sgm.SgmUnetNames;
import io.lcmlora.lora.LoraComponent;
import io.lcmlora.lora.LoraFile;
import io.lcmlora.lora.LoraKeyMap;
import io.lcmlora.lora.LoraSummary;
import io.lcmlora.model.clip.CLIPTextModel;
import io.lcmlora.model.clip.CLIPTextModelWithProjection;
import io.lcmlora.model.clip.ClipTextConfig;
import io.lcmlora.model.unet.UNet2DConditionConfig;
import io.lcmlora.model.unet.UNet2DConditionModel;
import io.lcmlora.nn.Weights;
import java.io.IOException;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code lcm lora <subcommand>}: LoRA file tools. */
@Command(name = "lora", mixinStandardHelpOptions = true, description = "LoRA file tools.",
        subcommands = {LoraCommand.Inspect.class, LoraCommand.Fuse.class})
public final class LoraCommand implements Runnable {
    @Override
    public void run() {
        throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this), "name a subcommand, e.g. 'lora inspect FILE'");
    }

    /** {@code lcm lora inspect FILE}: format, ranks, alphas, targets per type, parameter count, metadata. */
    @Command(name = "inspect", mixinStandardHelpOptions = true,
            description = "Show a LoRA file's format, rank(s), alpha(s), target modules per type, parameter count and metadata.")
    public static final class Inspect implements Callable<Integer> {
        @Parameters(index = "0", description = "LoRA .safetensors file")
        Path file;

        @Option(names = "--model", description = "unet/ folder or diffusers SDXL folder whose UNet config names the modules "
                + "(default: the SDXL base architecture; text encoders: SDXL's CLIP ViT-L and bigG)")
        Path model;

        @Override
        public Integer call() throws Exception {
            System.out.print(inspect(file, model));
            return 0;
        }
    }

    /** {@code lcm lora fuse}: a diffusers SDXL folder with LoRAs fused into the UNet and text encoders. */
    @Command(name = "fuse", mixinStandardHelpOptions = true,
            description = "Write a diffusers SDXL folder with LoRAs fused into its weights (loads anywhere, no LoRA support needed).")
    public static final class Fuse implements Callable<Integer> {
        @Option(names = "--model", required = true, description = "diffusers SDXL folder")
        Path model;

        @Option(names = "--lora", required = true, description = "FILE[:WEIGHT], repeatable")
        List<String> loras;

        @Option(names = "--out", required = true, description = "new output folder")
        Path out;

        @Option(names = "--dtype", description = "fp32|fp16 for the written weights (default: as in the source)")
        String dtype;

        @Override
        public Integer call() throws Exception {
            List<io.lcmlora.lora.LoraFuse.Spec> specs = loras.stream().map(s -> {
                io.lcmlora.pipeline.LoraSpec l = io.lcmlora.pipeline.LoraSpec.parse(s);
                return new io.lcmlora.lora.LoraFuse.Spec(l.file(), l.weight());
            }).toList();
            io.lcmlora.io.DType d = dtype == null ? null : io.lcmlora.io.DType.of(io.lcmlora.engine.Precision.parse(dtype));
            Map<String, Integer> n = io.lcmlora.lora.LoraFuse.fuse(model, specs, out, d);
            System.out.println("fused modules: " + n + " -> " + out);
            return 0;
        }
    }

    /** The inspect command's work, callable from tests: the summary text. */
    public static String inspect(Path file, Path model) throws IOException {
        UNet2DConditionConfig cfg = model == null ? UNet2DConditionConfig.sdxl()
                : UNet2DConditionConfig.read(ComponentPath.resolve(model, "unet").resolve("config.json"));
        Map<LoraComponent, List<String>> names = new EnumMap<>(LoraComponent.class);
        try (NDManager m = NDManager.newBaseManager()) {
            names.put(LoraComponent.UNET, List.copyOf(new UNet2DConditionModel(Weights.shapesOnly(m), cfg).layers().keySet()));
            Weights te = Weights.shapesOnly(m);
            new CLIPTextModel(te, ClipTextConfig.sdxlTextEncoder());
            names.put(LoraComponent.TEXT_ENCODER, List.copyOf(te.adaptableLayers().keySet()));
            Weights te2 = Weights.shapesOnly(m);
            new CLIPTextModelWithProjection(te2, ClipTextConfig.sdxlTextEncoder2());
            names.put(LoraComponent.TEXT_ENCODER_2, List.copyOf(te2.adaptableLayers().keySet()));
        }
        return LoraSummary.describe(LoraFile.read(file, LoraKeyMap.of(names, SgmUnetNames.of(cfg))));
    }
}
