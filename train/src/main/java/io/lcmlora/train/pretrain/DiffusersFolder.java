package io.lcmlora.train.pretrain;

import ai.djl.ndarray.NDArray;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.lcmlora.io.FileTrees;
import io.lcmlora.io.AtomicFiles;
import io.lcmlora.io.DType;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.io.SafeTensorsWriter;
import io.lcmlora.io.TensorInfo;
import io.lcmlora.singlefile.BundledScheduler;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Writes the diffusers layout the rest of the toolkit loads: a component folder is {@code config.json} plus one
 * safetensors file ({@code diffusion_pytorch_model.safetensors} for diffusers models, {@code model.safetensors} for
 * transformers ones); an SDXL folder adds {@code model_index.json} and {@code scheduler/scheduler_config.json}
 * (SDXL base's). Folders are assembled under a temporary name and renamed into place, so a folder that exists is
 * complete.
 */
final class DiffusersFolder {
    static final String DIFFUSERS_WEIGHTS = "diffusion_pytorch_model.safetensors";
    static final String TRANSFORMERS_WEIGHTS = "model.safetensors";
    /** The components of an SDXL folder that the stages before the UNet produce. */
    static final List<String> PARTS = List.of("vae", "text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2");
    static final List<String> TEXT_PARTS = List.of("text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2");
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();

    private DiffusersFolder() {}

    /** {@code dir/config.json} and {@code dir/<weightsFile>} with every parameter stored as {@code dtype}. */
    static void writeComponent(Path dir, JsonObject config, String weightsFile, Map<String, NDArray> params, DType dtype)
            throws IOException {
        Files.createDirectories(dir);
        SafeTensorsWriter w = new SafeTensorsWriter().metadata("format", "pt");
        for (Map.Entry<String, NDArray> p : params.entrySet()) {
            w.add(p.getKey(), p.getValue(), dtype);
        }
        w.write(dir.resolve(weightsFile));
        writeJson(dir.resolve("config.json"), config);
    }

    /** model_index.json of an SDXL pipeline ({@code force_zeros_for_empty_prompt}: the unconditional is all zeros). */
    static void writeModelIndex(Path dir) throws IOException {
        JsonObject o = new JsonObject();
        o.addProperty("_class_name", "StableDiffusionXLPipeline");
        o.addProperty("_diffusers_version", "0.25.1");
        o.addProperty("force_zeros_for_empty_prompt", true);
        component(o, "scheduler", "diffusers", "EulerDiscreteScheduler");
        component(o, "text_encoder", "transformers", "CLIPTextModel");
        component(o, "text_encoder_2", "transformers", "CLIPTextModelWithProjection");
        component(o, "tokenizer", "transformers", "CLIPTokenizer");
        component(o, "tokenizer_2", "transformers", "CLIPTokenizer");
        component(o, "unet", "diffusers", "UNet2DConditionModel");
        component(o, "vae", "diffusers", "AutoencoderKL");
        writeJson(dir.resolve("model_index.json"), o);
        Files.createDirectories(dir.resolve("scheduler"));
        writeJson(dir.resolve("scheduler").resolve("scheduler_config.json"), BundledScheduler.json().json());
    }

    private static void component(JsonObject o, String name, String library, String cls) {
        JsonArray a = new JsonArray();
        a.add(library);
        a.add(cls);
        o.add(name, a);
    }

    static void writeJson(Path file, JsonObject o) throws IOException {
        AtomicFiles.writeString(file, GSON.toJson(o) + "\n");
    }

    /**
     * Copies the named component folders (flat files) from {@code from} into {@code to}; with {@code dtype} F16 the
     * floating tensors of their safetensors files are stored as fp16 (a whole fp16 folder, like diffusers' fp16
     * variants), otherwise files are copied unchanged.
     */
    static void copyParts(Path from, Path to, List<String> parts, DType dtype) throws IOException {
        for (String part : parts) {
            Path src = from.resolve(part);
            if (!Files.isDirectory(src)) {
                throw new IOException(src + ": not found (run the stage that writes " + part + "/ first)");
            }
            Path dst = to.resolve(part);
            Files.createDirectories(dst);
            try (Stream<Path> files = Files.list(src)) {
                for (Path f : files.filter(Files::isRegularFile).toList()) {
                    if (dtype == DType.F16 && f.getFileName().toString().endsWith(".safetensors")) {
                        toHalf(f, dst.resolve(f.getFileName()));
                    } else {
                        Files.copy(f, dst.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
                    }
                }
            }
        }
    }

    /** The file with its F32 tensors stored as F16 (other tensors and the metadata as they are). */
    private static void toHalf(Path src, Path dst) throws IOException {
        try (SafeTensorsFile f = SafeTensorsFile.open(src)) {
            SafeTensorsWriter w = new SafeTensorsWriter().metadata(f.metadata());
            for (TensorInfo t : f.tensors().values()) {
                if (t.dtype() == DType.F32) {
                    w.addFloats(t.name(), t.shape(), f.floats(t.name()), DType.F16);
                } else {
                    w.add(t.name(), t.dtype(), t.shape(), f.bytes(t.name()));
                }
            }
            w.write(dst);
        }
    }

    /** A fresh sibling of {@code target} to assemble it in (removed first if a crashed run left it). */
    static Path staging(Path target) throws IOException {
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
        FileTrees.deleteTree(tmp);
        Files.createDirectories(tmp);
        return tmp;
    }

    /** Moves the assembled folder to {@code target}, replacing an older one. */
    static void publish(Path staged, Path target) throws IOException {
        FileTrees.deleteTree(target);
        Files.move(staged, target, StandardCopyOption.ATOMIC_MOVE);
    }
}
