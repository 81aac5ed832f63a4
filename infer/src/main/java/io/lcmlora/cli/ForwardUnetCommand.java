package io.lcmlora.cli;

import io.lcmlora.engine.Precision;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.lcmlora.io.ComponentPath;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.io.SafeTensorsWriter;
import io.lcmlora.singlefile.SingleFileCheckpoint;
import io.lcmlora.singlefile.SingleFileConfigs;
import io.lcmlora.lora.Adapters;
import io.lcmlora.lora.LoraComponent;
import io.lcmlora.lora.LoraFile;
import io.lcmlora.lora.LoraKeyMap;
import io.lcmlora.model.unet.UNet2DConditionModel;
import io.lcmlora.pipeline.LoraSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code lcm forward unet}: runs the UNet on tensors named after diffusers' forward arguments ({@code sample},
 * {@code timestep} int64 0-dim or [B], {@code encoder_hidden_states}, {@code text_embeds}, {@code time_ids},
 * optional {@code timestep_cond}) and writes {@code sample}.
 */
@Command(name = "unet", mixinStandardHelpOptions = true, description = "Run the UNet on inputs from a safetensors file.")
public final class ForwardUnetCommand implements Callable<Integer> {
    @Option(names = "--model", required = true,
            description = "unet/ folder, diffusers SDXL folder, or SDXL single-file checkpoint (.safetensors)")
    Path model;

    @Mixin
    SingleFileOptions singleFile = new SingleFileOptions();

    @Option(names = "--inputs", required = true, description = "safetensors with sample, timestep, encoder_hidden_states, text_embeds, time_ids")
    Path inputs;

    @Option(names = "--output", required = true, description = "safetensors file to write (tensor 'sample')")
    Path output;

    @Option(names = "--dtype", defaultValue = "fp32", description = "fp32, fp16 (GPU) or bf16 (JNI from tools/build-jni.sh)")
    String dtype;

    @Option(names = "--lora", paramLabel = "FILE[:WEIGHT]", description = "UNet LoRA and weight (default 1); repeatable")
    List<String> loras = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        run(model, singleFile.configs(), inputs, output, Precision.parse(dtype).dataType(), loras.stream().map(LoraSpec::parse).toList());
        return 0;
    }

    /** {@link #run(Path, SingleFileConfigs, Path, Path, DataType, List)} with the single-file configs detected, no LoRA. */
    public static void run(Path model, Path inputs, Path output, DataType dtype) throws Exception {
        run(model, null, inputs, output, dtype, List.of());
    }

    /**
     * The command's work, callable from tests. A {@code model} that is a file is a single-file checkpoint, read with
     * {@code configs} (null: the preset that fits); a folder is a unet/ or diffusers SDXL folder. The LoRAs are
     * loaded onto the UNet and run unfused.
     */
    public static void run(Path model, SingleFileConfigs configs, Path inputs, Path output, DataType dtype, List<LoraSpec> loras)
            throws Exception {
        try (NDManager m = NDManager.newBaseManager(); SafeTensorsFile in = SafeTensorsFile.open(inputs)) {
            UNet2DConditionModel unet = Files.isRegularFile(model)
                    ? SingleFileCheckpoint.loadUnet(model, configs, m, dtype)
                    : UNet2DConditionModel.load(ComponentPath.resolve(model, "unet"), null, m, dtype);
            Adapters adapters = new Adapters(LoraComponent.UNET, unet.layers());
            for (LoraSpec l : loras) {
                adapters.load(LoraFile.load(l.file(), LoraKeyMap.of(unet), m, dtype), l.name(), l.weight());
            }
            for (String req : new String[] {"sample", "timestep", "encoder_hidden_states"}) {
                if (!in.contains(req)) {
                    throw new IllegalArgumentException(inputs + ": missing input tensor '" + req + "'");
                }
            }
            long[] t = in.info("timestep").dtype().isFloating() ? null : in.longs("timestep");
            double[] ts = t != null ? java.util.Arrays.stream(t).asDoubleStream().toArray() : in.doubles("timestep");
            NDArray out = unet.forward(new UNet2DConditionModel.Inputs(in.load("sample", m), ts, in.load("encoder_hidden_states", m),
                    in.contains("text_embeds") ? in.load("text_embeds", m) : null,
                    in.contains("time_ids") ? in.load("time_ids", m) : null,
                    in.contains("timestep_cond") ? in.load("timestep_cond", m) : null));
            new SafeTensorsWriter().metadata("producer", "lcm forward unet").add("sample", out.toType(DataType.FLOAT32, false)).write(output);
        }
    }
}
