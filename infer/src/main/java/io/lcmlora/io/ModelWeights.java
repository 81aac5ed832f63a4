package io.lcmlora.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.google.gson.JsonElement;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Loads the weights of one diffusers/transformers component folder: {@code <base>.safetensors}, its
 * {@code .fp16} variant, or the sharded {@code <base>.safetensors.index.json} layout. Floating tensors are
 * converted to the requested dtype on load.
 */
public final class ModelWeights {
    private ModelWeights() {}

    /** Standard weight file base names, tried in order: diffusers models, then transformers models. */
    public static final List<String> BASE_NAMES = List.of("diffusion_pytorch_model", "model");

    /** The weight files of a component folder (one file, or the shards of an index), for error messages too. */
    public static List<Path> files(Path dir, String variant) throws IOException {
        List<String> suffixes = variant == null ? List.of("") : List.of("." + variant, "");
        for (String suffix : suffixes) {
            for (String base : BASE_NAMES) {
                Path single = dir.resolve(base + suffix + ".safetensors");
                if (Files.isRegularFile(single)) {
                    return List.of(single);
                }
                Path index = dir.resolve(base + ".safetensors.index" + suffix + ".json");
                if (!Files.isRegularFile(index)) {
                    index = dir.resolve(base + suffix + ".safetensors.index.json");
                }
                if (Files.isRegularFile(index)) {
                    return shards(index);
                }
            }
        }
        throw new IOException(dir + ": no weights found (expected diffusion_pytorch_model.safetensors, model.safetensors, "
                + "a .fp16 variant or a *.safetensors.index.json; .bin pickle files are never loaded)");
    }

    private static List<Path> shards(Path index) throws IOException {
        ConfigJson cfg = ConfigJson.read(index);
        if (!cfg.has("weight_map") || !cfg.json().get("weight_map").isJsonObject()) {
            throw new IOException(index + ": field 'weight_map' is missing or not an object");
        }
        Set<String> names = new LinkedHashSet<>();
        for (Map.Entry<String, JsonElement> e : cfg.json().getAsJsonObject("weight_map").entrySet()) {
            String shard = e.getValue().getAsString();
            if (shard.contains("/") || shard.contains("\\") || shard.equals("..")) {
                throw new IOException(index + ": shard name '" + shard + "' for '" + e.getKey() + "' must be a plain file name");
            }
            names.add(shard);
        }
        List<Path> out = new ArrayList<>();
        for (String n : names) {
            out.add(index.resolveSibling(n));
        }
        return out;
    }

    /** Loads every tensor of the files into {@code manager}, floating ones as {@code dtype}. */
    public static Map<String, NDArray> load(List<Path> files, NDManager manager, DataType dtype) throws IOException {
        Map<String, NDArray> out = new LinkedHashMap<>();
        for (Path f : files) {
            try (SafeTensorsFile st = SafeTensorsFile.open(f)) {
                for (String name : st.tensors().keySet()) {
                    if (out.containsKey(name)) {
                        throw new SafeTensorsException(f + ": tensor '" + name + "' also appears in another shard");
                    }
                    out.put(name, st.load(name, manager, dtype));
                }
            }
        }
        return out;
    }

    /** Loads a component folder (config.json beside the weights). */
    public static Map<String, NDArray> load(Path dir, String variant, NDManager manager, DataType dtype) throws IOException {
        return load(files(dir, variant), manager, dtype);
    }

    /** A readable source description for error messages. */
    public static String describe(List<Path> files) {
        return files.size() == 1 ? files.get(0).toString() : files.get(0).getParent() + " (" + files.size() + " shards)";
    }
}
