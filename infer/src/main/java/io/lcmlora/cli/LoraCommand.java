package io.lcmlora.cli;

import ai.djl.ndarray.NDManager;
import io.lcmlora.io.ComponentPath;
import io.lcmlora.sgm.SgmUnetNames;
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
            description = "Show a LoRA file's format, rank(s), alpha(s), adapter kind per module (LoRA, LoCon Tucker, DoRA with"
                    + " its norm axis, LoHa, LoKr, full or bias diff), target modules per type, parameter count and metadata.")
    public static final class Inspect implements Callable<Integer> {
        @Parameters(index = "0", description = "LoRA .safetensors file")
        Path file;

        @Option(names = "--model", description = "unet/ folder or diffusers SDXL folder whose UNet config names the modules "
                + "(default: the SDXL base architecture; text encoders: SDXL's CLIP ViT-L and bigG)")
        Path model;

        @Option(names = "--strict", description = "fail when the file has keys that are not adapter tensors (default: list them)")
        boolean strict;

        @Override
        public Integer call() throws Exception {
            System.out.print(inspect(file, model, strict));
            return 0;
        }
    }

    /** {@code lcm lora fuse}: a diffusers SDXL folder with LoRAs fused into the UNet and text encoders. */
    @Command(name = "fuse", mixinStandardHelpOptions = true,
            description = "Write a diffusers SDXL folder with LoRAs (any adapter kind) fused into its weights and biases"
                    + " (loads anywhere, no LoRA support needed).")
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
        return inspect(file, model, false);
    }

    /** {@link #inspect(Path, Path)}; {@code strict} refuses skipped keys. */
    public static String inspect(Path file, Path model, boolean strict) throws IOException {
        UNet2DConditionConfig cfg = model == null ? UNet2DConditionConfig.sdxl()
                : UNet2DConditionConfig.read(ComponentPath.resolve(model, "unet").resolve("config.json"));
        Map<LoraComponent, List<String>> names = new EnumMap<>(LoraComponent.class);
        Map<LoraComponent, Map<String, long[]>> shapes = new EnumMap<>(LoraComponent.class);
        try (NDManager m = NDManager.newBaseManager()) {
            Weights unet = Weights.shapesOnly(m);
            names.put(LoraComponent.UNET, List.copyOf(new UNet2DConditionModel(unet, cfg).layers().keySet()));
            shapes.put(LoraComponent.UNET, weightShapes(unet, names.get(LoraComponent.UNET)));
            Weights te = Weights.shapesOnly(m);
            new CLIPTextModel(te, ClipTextConfig.sdxlTextEncoder());
            names.put(LoraComponent.TEXT_ENCODER, List.copyOf(te.adaptableLayers().keySet()));
            shapes.put(LoraComponent.TEXT_ENCODER, weightShapes(te, names.get(LoraComponent.TEXT_ENCODER)));
            Weights te2 = Weights.shapesOnly(m);
            new CLIPTextModelWithProjection(te2, ClipTextConfig.sdxlTextEncoder2());
            names.put(LoraComponent.TEXT_ENCODER_2, List.copyOf(te2.adaptableLayers().keySet()));
            shapes.put(LoraComponent.TEXT_ENCODER_2, weightShapes(te2, names.get(LoraComponent.TEXT_ENCODER_2)));
        }
        LoraFile f = LoraFile.read(file, LoraKeyMap.of(names, SgmUnetNames.of(cfg)));
        if (strict) {
            f.requireNoSkipped();
        }
        try (io.lcmlora.io.SafeTensorsFile st = io.lcmlora.io.SafeTensorsFile.open(file)) {
            io.lcmlora.io.FiniteWeights.require(st, st.tensors().keySet(), "this LoRA is broken (a diverged training run?)");
        }
        List<String> bad = f.mismatches(shapes);
        String shown = String.join("; ", bad.subList(0, Math.min(20, bad.size()))) + (bad.size() > 20 ? "; ..." : "");
        if (bad.isEmpty()) {
            return LoraSummary.describe(f) + "shapes: every module fits the " + (model == null ? "SDXL base" : "model's")
                    + " weights\n";
        }
        if (model != null) {
            throw new io.lcmlora.lora.LoraException(file + ": " + bad.size() + " module(s) do not fit the weights of " + model
                    + ": " + shown);
        }
        return LoraSummary.describe(f) + "shapes: " + bad.size() + " module(s) differ from the SDXL base architecture (pass"
                + " --model DIR to check against your model): " + shown + "\n";
    }

    /** module path -> weight shape, from a shapes-only recording. */
    private static Map<String, long[]> weightShapes(Weights recorded, List<String> modules) {
        Map<String, long[]> requested = recorded.requested();
        Map<String, long[]> out = new java.util.HashMap<>();
        for (String mod : modules) {
            long[] s = requested.get(mod + ".weight");
            if (s != null) {
                out.put(mod, s);
            }
        }
        return out;
    }
}
