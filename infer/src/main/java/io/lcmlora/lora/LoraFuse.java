package io.lcmlora.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.lcmlora.io.FileTrees;
import io.lcmlora.io.DType;
import io.lcmlora.io.ModelWeights;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.io.SafeTensorsWriter;
import io.lcmlora.sgm.SgmUnetNames;
import io.lcmlora.model.clip.CLIPTextModel;
import io.lcmlora.model.clip.CLIPTextModelWithProjection;
import io.lcmlora.model.clip.ClipTextConfig;
import io.lcmlora.model.unet.UNet2DConditionConfig;
import io.lcmlora.model.unet.UNet2DConditionModel;
import io.lcmlora.nn.AdaptableLayer;
import io.lcmlora.nn.Weights;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Writes a diffusers SDXL folder whose UNet and text encoders have LoRAs fused into their weights
 * ({@code W += weight * alpha/r * B@A}), so any loader gets the adapted model without LoRA support. The other
 * components are copied unchanged; the new folder appears atomically (written beside it, then renamed).
 */
public final class LoraFuse {
    private LoraFuse() {}

    /** A LoRA file and its weight. */
    public record Spec(Path file, double weight) {}

    private record Part(LoraComponent component, String folder, Path dir, Map<String, NDArray> tensors,
            Map<String, AdaptableLayer> layers, Map<String, DType> dtypes, String source) {}

    /**
     * @param dtype stored dtype of the written weights, or null to keep each tensor's dtype in the source
     * @return the number of fused modules per component folder
     */
    public static Map<String, Integer> fuse(Path modelDir, List<Spec> loras, Path out, DType dtype) throws IOException {
        if (!Files.isRegularFile(modelDir.resolve("model_index.json"))) {
            throw new IOException(modelDir + ": not a diffusers SDXL folder (model_index.json missing)");
        }
        if (Files.exists(out)) {
            throw new IOException(out + ": already exists (choose a new output folder)");
        }
        Map<String, Integer> fused = new LinkedHashMap<>();
        try (NDManager m = NDManager.newBaseManager()) {
            List<Part> parts = new ArrayList<>();
            parts.add(part(m, modelDir, LoraComponent.UNET, "unet"));
            parts.add(part(m, modelDir, LoraComponent.TEXT_ENCODER, "text_encoder"));
            parts.add(part(m, modelDir, LoraComponent.TEXT_ENCODER_2, "text_encoder_2"));
            Map<LoraComponent, List<String>> names = new EnumMap<>(LoraComponent.class);
            for (Part p : parts) {
                names.put(p.component(), List.copyOf(p.layers().keySet()));
            }
            LoraKeyMap keys = LoraKeyMap.of(names, SgmUnetNames.of(UNet2DConditionConfig.read(modelDir.resolve("unet/config.json"))));
            for (Part p : parts) {
                Adapters adapters = new Adapters(p.component(), p.layers());
                int n = 0;
                for (Spec s : loras) {
                    LoraWeights w = LoraFile.load(s.file(), keys, m, DataType.FLOAT32);
                    if (!w.of(p.component()).isEmpty()) {
                        String name = "lora" + adapters.names().size();
                        adapters.load(w, name, s.weight());
                        n += adapters.adapter(name).size();
                    }
                }
                if (!adapters.names().isEmpty()) {
                    adapters.fuse();
                }
                fused.put(p.folder(), n);
            }
            Path tmp = Files.createTempDirectory(out.toAbsolutePath().getParent(), "." + out.getFileName() + ".tmp-");
            try {
                copyTree(modelDir, tmp, List.of("unet", "text_encoder", "text_encoder_2"));
                for (Part p : parts) {
                    write(p, tmp.resolve(p.folder()), dtype, loras);
                }
                Files.move(tmp, out, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException | RuntimeException e) {
                FileTrees.deleteTree(tmp);
                throw e;
            }
        }
        return fused;
    }

    private static Part part(NDManager m, Path modelDir, LoraComponent c, String folder) throws IOException {
        Path dir = modelDir.resolve(folder);
        List<Path> files = ModelWeights.files(dir, null);
        Map<String, DType> dtypes = new LinkedHashMap<>();
        for (Path f : files) {
            try (SafeTensorsFile st = SafeTensorsFile.open(f)) {
                st.tensors().forEach((k, v) -> dtypes.put(k, v.dtype()));
            }
        }
        Map<String, NDArray> tensors = new LinkedHashMap<>(ModelWeights.load(files, m, DataType.FLOAT32));
        Weights vb = Weights.of(m, tensors, ModelWeights.describe(files));
        switch (c) {
            case UNET -> new UNet2DConditionModel(vb, UNet2DConditionConfig.read(dir.resolve("config.json")));
            case TEXT_ENCODER -> new CLIPTextModel(vb, ClipTextConfig.read(dir.resolve("config.json")));
            case TEXT_ENCODER_2 -> new CLIPTextModelWithProjection(vb, ClipTextConfig.read(dir.resolve("config.json")));
            default -> throw new IllegalStateException(c.toString());
        }
        return new Part(c, folder, dir, tensors, vb.adaptableLayers(), dtypes, ModelWeights.describe(files));
    }

    private static void write(Part p, Path dir, DType dtype, List<Spec> loras) throws IOException {
        Files.createDirectories(dir);
        Files.copy(p.dir().resolve("config.json"), dir.resolve("config.json"));
        SafeTensorsWriter w = new SafeTensorsWriter().metadata("format", "pt");
        StringBuilder desc = new StringBuilder();
        for (Spec s : loras) {
            desc.append(desc.length() == 0 ? "" : ", ").append(s.file().getFileName()).append(':').append(s.weight());
        }
        w.metadata("fused_loras", desc.toString());
        for (Map.Entry<String, NDArray> e : p.tensors().entrySet()) {
            String key = e.getKey();
            NDArray value = e.getValue();
            if (key.endsWith(".weight")) {
                AdaptableLayer layer = p.layers().get(key.substring(0, key.length() - ".weight".length()));
                if (layer != null) {
                    value = layer.weight();
                }
            } else if (key.endsWith(".bias")) { // a fused bias difference (diff_b)
                AdaptableLayer layer = p.layers().get(key.substring(0, key.length() - ".bias".length()));
                if (layer != null && layer.bias() != null) {
                    value = layer.bias();
                }
            }
            DType target = dtype != null && p.dtypes().get(key).isFloating() ? dtype : p.dtypes().get(key);
            w.add(key, value, target);
        }
        String base = p.component() == LoraComponent.UNET ? "diffusion_pytorch_model" : "model";
        w.write(dir.resolve(base + ".safetensors"));
    }

    private static void copyTree(Path from, Path to, List<String> skip) throws IOException {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path src : (Iterable<Path>) s::iterator) {
                Path rel = from.relativize(src);
                if (rel.getNameCount() > 0 && skip.contains(rel.getName(0).toString())) {
                    continue;
                }
                Path dst = to.resolve(rel.toString());
                if (Files.isDirectory(src)) {
                    Files.createDirectories(dst);
                } else {
                    Files.copy(src, dst, StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
        }
    }
}
