package io.lcmlora.pipeline;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import io.lcmlora.io.ConfigJson;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A diffusers SDXL {@code model_index.json}: {@code "component": ["library", "ClassName"]} entries. The required
 * components must be present with a class this toolkit implements; {@code [null, null]} entries count as absent;
 * components it does not use (e.g. {@code image_encoder}, {@code feature_extractor}) are listed in
 * {@link #notes()} and otherwise ignored.
 *
 * @param file the model_index.json read
 * @param pipelineClass {@code _class_name} (StableDiffusionXLPipeline, or one of its img2img/inpaint siblings)
 * @param components component name -> class name, for every non-null entry
 * @param forceZerosForEmptyPrompt {@code force_zeros_for_empty_prompt} (true when absent, the pipeline default)
 * @param notes what was ignored, one line each
 */
public record ModelIndex(Path file, String pipelineClass, Map<String, String> components, boolean forceZerosForEmptyPrompt,
        List<String> notes) {

    /** Required component -> accepted classes (the scheduler's class is free: only its config is read). */
    static final Map<String, Set<String>> REQUIRED = requiredComponents();

    private static Map<String, Set<String>> requiredComponents() {
        Map<String, Set<String>> m = new LinkedHashMap<>();
        m.put("unet", Set.of("UNet2DConditionModel"));
        m.put("vae", Set.of("AutoencoderKL"));
        m.put("text_encoder", Set.of("CLIPTextModel"));
        m.put("text_encoder_2", Set.of("CLIPTextModelWithProjection"));
        m.put("tokenizer", Set.of("CLIPTokenizer", "CLIPTokenizerFast"));
        m.put("tokenizer_2", Set.of("CLIPTokenizer", "CLIPTokenizerFast"));
        m.put("scheduler", Set.of());
        return java.util.Collections.unmodifiableMap(m);
    }

    public ModelIndex {
        components = Map.copyOf(components);
        notes = List.copyOf(notes);
    }

    /** Reads and validates {@code dir/model_index.json}. */
    public static ModelIndex read(Path dir) throws IOException {
        Path file = dir.resolve("model_index.json");
        if (!Files.isRegularFile(file)) {
            throw new IOException(dir + ": no model_index.json (expected a diffusers SDXL pipeline folder with unet/, vae/, "
                    + "text_encoder/, text_encoder_2/, tokenizer/, tokenizer_2/ and scheduler/)");
        }
        ConfigJson cfg = ConfigJson.read(file);
        String pipelineClass = cfg.getString("_class_name", "");
        if (!pipelineClass.startsWith("StableDiffusionXL")) {
            throw new IllegalArgumentException(file + ": field '_class_name' is \"" + pipelineClass
                    + "\", expected an SDXL pipeline (StableDiffusionXLPipeline)");
        }
        Map<String, String> components = new LinkedHashMap<>();
        List<String> notes = new ArrayList<>();
        for (Map.Entry<String, JsonElement> e : cfg.json().entrySet()) {
            String name = e.getKey();
            if (name.startsWith("_") || !e.getValue().isJsonArray()) {
                continue; // _class_name, _diffusers_version, pipeline flags such as force_zeros_for_empty_prompt
            }
            JsonArray pair = e.getValue().getAsJsonArray();
            if (pair.size() != 2) {
                throw new IllegalArgumentException(file + ": field '" + name + "' is " + pair + ", expected [library, ClassName]");
            }
            if (pair.get(1).isJsonNull()) {
                continue;
            }
            String cls = pair.get(1).getAsString();
            Set<String> accepted = REQUIRED.get(name);
            if (accepted == null) {
                notes.add("component '" + name + "' (" + cls + ") is not used by this toolkit and was ignored");
                continue;
            }
            if (!accepted.isEmpty() && !accepted.contains(cls)) {
                throw new IllegalArgumentException(file + ": component '" + name + "' is " + cls + ", expected "
                        + String.join(" or ", accepted.stream().sorted().toList()));
            }
            components.put(name, cls);
        }
        for (String required : REQUIRED.keySet()) {
            if (!components.containsKey(required)) {
                throw new IllegalArgumentException(file + ": the required component '" + required + "' is missing"
                        + (cfg.json().has(required) ? " (it is [null, null]; SDXL refiner-style folders are not supported)" : ""));
            }
            if (!Files.isDirectory(dir.resolve(required))) {
                throw new IOException(dir + ": model_index.json names component '" + required + "' but the folder "
                        + dir.resolve(required) + " does not exist");
            }
        }
        return new ModelIndex(file, pipelineClass, components, cfg.getBool("force_zeros_for_empty_prompt", true), notes);
    }
}
