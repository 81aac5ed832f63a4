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
        return locate(dir, variant).files();
    }

    /** Where a folder's weights are: the files, and for a sharded layout its index and tensor -> shard map. */
    private record Located(List<Path> files, Path index, Map<String, String> weightMap) {}

    /**
     * Resolution order (as diffusers' {@code variant=} loading): with a variant, {@code <base>.<variant>.safetensors}
     * then its index, falling back to the plain names; without one, the plain names only. For each suffix the
     * diffusers base name comes before the transformers one, and a single file before an index.
     */
    private static Located locate(Path dir, String variant) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IOException(dir + ": weights folder not found");
        }
        List<String> suffixes = variant == null ? List.of("") : List.of("." + variant, "");
        for (String suffix : suffixes) {
            for (String base : BASE_NAMES) {
                Path single = dir.resolve(base + suffix + ".safetensors");
                if (Files.isRegularFile(single)) {
                    return new Located(List.of(single), null, null);
                }
                for (Path index : List.of(dir.resolve(base + ".safetensors.index" + suffix + ".json"),
                        dir.resolve(base + suffix + ".safetensors.index.json"))) {
                    if (Files.isRegularFile(index)) {
                        return shards(index);
                    }
                }
            }
        }
        String hint = variant == null && Files.isRegularFile(dir.resolve(BASE_NAMES.get(0) + ".fp16.safetensors"))
                ? " (only an fp16 variant is present: pass variant fp16)" : "";
        throw new IOException(dir + ": no weights found (expected diffusion_pytorch_model.safetensors, model.safetensors, "
                + "a variant such as .fp16, or a *.safetensors.index.json; .bin pickle files are never loaded)" + hint);
    }

    private static Located shards(Path index) throws IOException {
        ConfigJson cfg = ConfigJson.read(index);
        if (!cfg.has("weight_map") || !cfg.json().get("weight_map").isJsonObject()) {
            throw new IOException(index + ": field 'weight_map' is missing or not an object");
        }
        Map<String, String> weightMap = new LinkedHashMap<>();
        Set<String> names = new LinkedHashSet<>();
        for (Map.Entry<String, JsonElement> e : cfg.json().getAsJsonObject("weight_map").entrySet()) {
            JsonElement v = e.getValue();
            if (!v.isJsonPrimitive() || !v.getAsJsonPrimitive().isString()) {
                throw new IOException(index + ": weight_map entry for '" + e.getKey() + "' must be a shard file name, got " + v);
            }
            String shard = v.getAsString();
            if (!isPlainFileName(shard)) {
                throw new IOException(index + ": shard name '" + shard + "' for '" + e.getKey() + "' must be a plain file name");
            }
            weightMap.put(e.getKey(), shard);
            names.add(shard);
        }
        if (names.isEmpty()) {
            throw new IOException(index + ": weight_map is empty");
        }
        List<Path> out = new ArrayList<>();
        for (String n : names) {
            Path shard = index.resolveSibling(n);
            if (!Files.isRegularFile(shard)) {
                throw new IOException(index + ": shard '" + n + "' is missing");
            }
            out.add(shard);
        }
        return new Located(List.copyOf(out), index, weightMap);
    }

    private static boolean isPlainFileName(String s) {
        return !s.isEmpty() && !s.equals(".") && !s.equals("..") && s.indexOf('/') < 0 && s.indexOf('\\') < 0
                && s.indexOf(':') < 0 && s.indexOf('\0') < 0;
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

    /**
     * Loads a component folder (config.json beside the weights). For a sharded layout every tensor must sit in
     * the shard the index names, and every indexed tensor must be present.
     */
    public static Map<String, NDArray> load(Path dir, String variant, NDManager manager, DataType dtype) throws IOException {
        Located where = locate(dir, variant);
        if (where.index() != null) {
            checkIndex(where);
        }
        return load(where.files(), manager, dtype);
    }

    private static void checkIndex(Located where) throws IOException {
        Set<String> seen = new LinkedHashSet<>();
        for (Path f : where.files()) {
            try (SafeTensorsFile st = SafeTensorsFile.open(f)) {
                for (String name : st.tensors().keySet()) {
                    String expected = where.weightMap().get(name);
                    if (expected == null) {
                        throw new SafeTensorsException(f + ": tensor '" + name + "' is not listed in " + where.index());
                    }
                    if (!expected.equals(f.getFileName().toString())) {
                        throw new SafeTensorsException(f + ": tensor '" + name + "' is listed under shard '" + expected
                                + "' in " + where.index());
                    }
                    seen.add(name);
                }
            }
        }
        for (String name : where.weightMap().keySet()) {
            if (!seen.contains(name)) {
                throw new SafeTensorsException(where.index() + ": tensor '" + name + "' is in no shard (expected in '"
                        + where.weightMap().get(name) + "')");
            }
        }
    }

    /** A readable source description for error messages. */
    public static String describe(List<Path> files) {
        return files.size() == 1 ? files.get(0).toString() : files.get(0).getParent() + " (" + files.size() + " shards)";
    }
}
