package io.lcmlora.cli;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.io.SafeTensorsWriter;
import io.lcmlora.model.clip.ClipTextEncoder;
import io.lcmlora.model.clip.ClipTextOutput;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code lcm forward text-encoder}: a transformers CLIP text encoder on {@code input_ids}. */
@Command(name = "text-encoder", mixinStandardHelpOptions = true,
        description = {"Run a CLIP text encoder (CLIPTextModel or CLIPTextModelWithProjection) on 'input_ids' [B, T].",
            "Writes last_hidden_state, hidden_states [layers+1, B, T, D], penultimate_hidden_state and pooler_output,"
                + " or text_embeds for a model with a projection."})
public final class TextEncoderCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "text encoder folder (config.json + model.safetensors)")
    Path model;

    @Option(names = "--projection", defaultValue = "auto",
            description = "auto (config architectures, else presence of text_projection.weight), yes or no")
    String projection;

    @Option(names = "--variant", description = "weight file variant, e.g. fp16 (loaded as float32)")
    String variant;

    @Option(names = "--inputs", required = true, description = "safetensors file with 'input_ids'")
    Path inputs;

    @Option(names = "--output", required = true, description = "safetensors file to write")
    Path output;

    @Override
    public Integer call() throws IOException {
        run(model, parseProjection(projection), variant, inputs, output);
        return 0;
    }

    static ClipTextEncoder.Projection parseProjection(String s) {
        return switch (s) {
            case "auto" -> ClipTextEncoder.Projection.AUTO;
            case "yes", "true" -> ClipTextEncoder.Projection.YES;
            case "no", "false" -> ClipTextEncoder.Projection.NO;
            default -> throw new IllegalArgumentException("--projection is '" + s + "', expected auto, yes or no");
        };
    }

    /** Loads the encoder, runs it on the inputs' {@code input_ids} and writes the outputs atomically. */
    public static void run(Path model, ClipTextEncoder.Projection projection, String variant, Path inputs, Path output)
            throws IOException {
        try (NDManager manager = NDManager.newBaseManager(); SafeTensorsFile in = SafeTensorsFile.open(inputs)) {
            int[][] ids = TokenIdsInput.read(in, "input_ids", true);
            ClipTextEncoder te = ClipTextEncoder.load(model, manager, DataType.FLOAT32, variant, projection);
            ClipTextOutput out = te.forward(ClipTextEncoder.inputIds(manager, ids));
            SafeTensorsWriter w = new SafeTensorsWriter()
                    .add("last_hidden_state", out.lastHiddenState())
                    .add("hidden_states", out.stackedHiddenStates())
                    .add("penultimate_hidden_state", out.penultimate());
            if (te.hasProjection()) {
                w.add("text_embeds", out.textEmbeds());
            } else {
                w.add("pooler_output", out.pooledOutput());
            }
            w.metadata("model", model.toString()).metadata("projection", Boolean.toString(te.hasProjection())).write(output);
        }
    }
}
