package io.lcmlora.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.lcmlora.eval.ClipImageProcessor;
import io.lcmlora.io.DType;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.io.SafeTensorsWriter;
import io.lcmlora.model.clip.CLIPVisionModelWithProjection;
import io.lcmlora.model.clip.ClipVisionOutput;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code lcm forward clip-vision}: a transformers CLIPVisionModelWithProjection on {@code pixel_values}. */
@Command(name = "clip-vision", mixinStandardHelpOptions = true,
        description = {"Run a CLIP vision tower (CLIPVisionModelWithProjection, or the vision half of a CLIPModel folder) on "
                + "'pixel_values' [B, 3, S, S] float, or on 'images_u8' [B, 3, H, W] uint8 through CLIPImageProcessor.",
            "Writes image_embeds, last_hidden_state, penultimate_hidden_state, hidden_states [layers+1, B, T, D] and "
                + "pooler_output (and pixel_values when computed from images_u8)."})
public final class ClipVisionCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "vision tower folder (config.json + model.safetensors)")
    Path model;

    @Option(names = "--variant", description = "weight file variant, e.g. fp16 (loaded as float32)")
    String variant;

    @Option(names = "--inputs", required = true, description = "safetensors file with 'pixel_values' or 'images_u8'")
    Path inputs;

    @Option(names = "--output", required = true, description = "safetensors file to write")
    Path output;

    @Override
    public Integer call() throws IOException {
        run(model, variant, inputs, output);
        return 0;
    }

    /** Loads the tower, runs it on the inputs and writes the outputs atomically. */
    public static void run(Path model, String variant, Path inputs, Path output) throws IOException {
        try (NDManager manager = NDManager.newBaseManager(); SafeTensorsFile in = SafeTensorsFile.open(inputs);
                CLIPVisionModelWithProjection vision = CLIPVisionModelWithProjection.load(model, manager,
                        DataType.FLOAT32, variant)) {
            SafeTensorsWriter w = new SafeTensorsWriter();
            NDArray pixels;
            if (in.contains("pixel_values")) {
                pixels = in.load("pixel_values", manager, DataType.FLOAT32);
            } else if (in.contains("images_u8")) {
                if (in.info("images_u8").dtype() != DType.U8) {
                    throw new IllegalArgumentException(inputs + ": 'images_u8' is " + in.info("images_u8").dtype()
                            + ", expected U8 [B, 3, H, W]");
                }
                ClipImageProcessor p = ClipImageProcessor.forModel(model, vision.config().imageSize());
                pixels = p.apply(in.load("images_u8", manager));
                w.add("pixel_values", pixels);
            } else {
                throw new IllegalArgumentException(inputs + ": 'pixel_values' is missing (expected float [B, 3, "
                        + vision.config().imageSize() + ", " + vision.config().imageSize() + "], or uint8 'images_u8')");
            }
            ClipVisionOutput out = vision.forward(pixels);
            w.add("image_embeds", out.imageEmbeds())
                    .add("last_hidden_state", out.lastHiddenState())
                    .add("penultimate_hidden_state", out.penultimate())
                    .add("hidden_states", out.stackedHiddenStates())
                    .add("pooler_output", out.pooledOutput())
                    .metadata("model", model.toString())
                    .write(output);
        }
    }
}
