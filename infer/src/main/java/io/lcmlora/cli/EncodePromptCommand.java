package io.lcmlora.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.io.SafeTensorsWriter;
import io.lcmlora.model.clip.SdxlPromptEmbeds;
import io.lcmlora.model.clip.SdxlPromptEncoder;
import io.lcmlora.model.clip.SdxlTimeIds;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code lcm forward encode-prompt}: SDXL's encode_prompt on token ids of both tokenizers. */
@Command(name = "encode-prompt", mixinStandardHelpOptions = true,
        description = {"SDXL encode_prompt on token ids: inputs 'input_ids' (tokenizer 1) and 'input_ids_2' (tokenizer 2),",
            "optional 'negative_input_ids' and 'negative_input_ids_2'. Writes prompt_embeds, pooled_prompt_embeds,",
            "negative_prompt_embeds and negative_pooled_prompt_embeds (and add_time_ids with --time-ids)."})
public final class EncodePromptCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "SDXL folder with text_encoder/ and text_encoder_2/")
    Path model;

    @Option(names = "--variant", description = "weight file variant, e.g. fp16 (loaded as float32)")
    String variant;

    @Option(names = "--inputs", required = true, description = "safetensors file with the token ids")
    Path inputs;

    @Option(names = "--output", required = true, description = "safetensors file to write")
    Path output;

    @Option(names = "--clip-skip", description = "use hidden_states[-(clip_skip + 2)] for the prompt")
    Integer clipSkip;

    @Option(names = "--no-force-zeros",
            description = "encode the negatives (then the inputs must hold the ids of \"\" when there is no negative prompt)"
                    + " instead of zeros; default from model_index.json force_zeros_for_empty_prompt, else on")
    boolean noForceZeros;

    @Option(names = "--no-guidance", description = "no classifier-free guidance: no negative outputs")
    boolean noGuidance;

    @Option(names = "--time-ids", split = ",", paramLabel = "OH,OW,CT,CL,TH,TW",
            description = "also write add_time_ids [1, 6]: original size, crop top-left, target size")
    int[] timeIds;

    @Override
    public Integer call() throws IOException {
        SdxlPromptEncoder.Options opts = SdxlPromptEncoder.Options.DEFAULT.withClipSkip(clipSkip)
                .withClassifierFreeGuidance(!noGuidance);
        run(model, variant, inputs, output, opts, noForceZeros ? Boolean.FALSE : null, timeIds);
        return 0;
    }

    /**
     * Encodes the inputs' ids and writes the diffusers-named outputs atomically.
     *
     * @param forceZeros null for the model folder's setting
     * @param timeIds null, or the six micro-conditioning values
     */
    public static void run(Path model, String variant, Path inputs, Path output, SdxlPromptEncoder.Options options,
            Boolean forceZeros, int[] timeIds) throws IOException {
        if (timeIds != null && timeIds.length != 6) {
            throw new IllegalArgumentException("--time-ids takes 6 values (original h,w, crop top,left, target h,w), got "
                    + timeIds.length);
        }
        try (NDManager manager = NDManager.newBaseManager(); SafeTensorsFile in = SafeTensorsFile.open(inputs)) {
            SdxlPromptEncoder.TokenIds ids = new SdxlPromptEncoder.TokenIds(
                    TokenIdsInput.read(in, "input_ids", true),
                    TokenIdsInput.read(in, "input_ids_2", true),
                    TokenIdsInput.read(in, "negative_input_ids", false),
                    TokenIdsInput.read(in, "negative_input_ids_2", false));
            SdxlPromptEncoder encoder = SdxlPromptEncoder.load(model, manager, DataType.FLOAT32, variant, forceZeros);
            SdxlPromptEmbeds embeds = encoder.encode(manager, ids, options);
            SafeTensorsWriter w = new SafeTensorsWriter();
            for (Map.Entry<String, NDArray> e : embeds.named().entrySet()) {
                w.add(e.getKey(), e.getValue());
            }
            if (timeIds != null) {
                w.add("add_time_ids", SdxlTimeIds.of(timeIds[0], timeIds[1], timeIds[2], timeIds[3], timeIds[4], timeIds[5])
                        .toArray(manager, 1));
            }
            w.metadata("model", model.toString()).metadata("force_zeros_for_empty_prompt",
                    Boolean.toString(encoder.forceZerosForEmptyPrompt())).write(output);
        }
    }
}
