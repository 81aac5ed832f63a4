package io.lcmlora.cli;

import ai.djl.ndarray.NDManager;
import io.lcmlora.io.ComponentPath;
import io.lcmlora.lora.LoraComponent;
import io.lcmlora.lora.LoraFile;
import io.lcmlora.lora.LoraKeyMap;
import io.lcmlora.lora.LoraSummary;
import io.lcmlora.lora.SgmUnetNames;
import io.lcmlora.model.unet.UNet2DConditionConfig;
import io.lcmlora.model.unet.UNet2DConditionModel;
import io.lcmlora.nn.Weights;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code lcm lora <subcommand>}: LoRA file tools. */
@Command(name = "lora", mixinStandardHelpOptions = true, description = "LoRA file tools.",
        subcommands = {LoraCommand.Inspect.class})
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

        @Option(names = "--model", description = "unet/ folder or diffusers SDXL folder whose module names resolve the keys "
                + "(default: the SDXL base architecture)")
        Path model;

        @Override
        public Integer call() throws Exception {
            System.out.print(inspect(file, model));
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
        }
        names.put(LoraComponent.TEXT_ENCODER, clipTextModules(SDXL_CLIP_L_LAYERS));
        names.put(LoraComponent.TEXT_ENCODER_2, clipTextModules(SDXL_CLIP_G_LAYERS));
        return LoraSummary.describe(LoraFile.read(file, LoraKeyMap.of(names, SgmUnetNames.of(cfg))));
    }

    /** Encoder layers of SDXL's text_encoder (CLIP ViT-L) and text_encoder_2 (OpenCLIP bigG) configs. */
    static final int SDXL_CLIP_L_LAYERS = 12;
    static final int SDXL_CLIP_G_LAYERS = 32;

    /** The Linear modules of a transformers CLIPTextModel with {@code layers} encoder layers. */
    static List<String> clipTextModules(int layers) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < layers; i++) {
            String p = "text_model.encoder.layers." + i + ".";
            for (String leaf : new String[] {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj",
                    "mlp.fc1", "mlp.fc2"}) {
                out.add(p + leaf);
            }
        }
        return out;
    }
}
