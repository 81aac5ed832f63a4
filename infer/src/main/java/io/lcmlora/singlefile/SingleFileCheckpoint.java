package io.lcmlora.singlefile;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.io.TensorInfo;
import io.lcmlora.sgm.SgmUnetNames;
import io.lcmlora.sgm.SgmVaeNames;
import io.lcmlora.singlefile.TensorSource.Transform;
import io.lcmlora.model.clip.CLIPTextModel;
import io.lcmlora.model.clip.CLIPTextModelWithProjection;
import io.lcmlora.model.unet.UNet2DConditionModel;
import io.lcmlora.model.vae.AutoencoderKL;
import io.lcmlora.nn.Weights;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * An SDXL base checkpoint in one safetensors file, in the original Stability-AI layout ({@code sd_xl_base_1.0.safetensors}):
 * {@code model.diffusion_model.*} (SGM UNet names), {@code first_stage_model.*} (SGM VAE names),
 * {@code conditioner.embedders.0.transformer.*} (CLIP ViT-L, transformers names) and
 * {@code conditioner.embedders.1.model.*} (OpenCLIP ViT-bigG). Each model is built under its diffusers/transformers
 * names from the converted tensors; the conversion is planned from the file header first, so a checkpoint that does
 * not fit the configs fails before any tensor is read, naming every key and shape that differs.
 *
 * <p>Every tensor under a component prefix must become a parameter (except {@link Component#ignorable}) and every
 * parameter must be found. Keys outside the four prefixes (EMA copies, denoiser buffers) are not read; see
 * {@link #otherKeys}.
 */
public final class SingleFileCheckpoint implements AutoCloseable {
    /** What a safetensors file looks like; only {@link #SDXL_BASE} is supported. */
    public enum Kind {
        SDXL_BASE("an SDXL base single-file checkpoint"),
        SDXL_REFINER("an SDXL refiner checkpoint (one OpenCLIP text encoder under conditioner.embedders.0.model.)"),
        SD1("a Stable Diffusion 1.x checkpoint (CLIP text encoder under cond_stage_model.transformer.)"),
        SD2("a Stable Diffusion 2.x checkpoint (OpenCLIP text encoder under cond_stage_model.model.)"),
        LORA("a LoRA file (lora_* keys)"),
        DIFFUSERS_COMPONENT("a diffusers/transformers component file (keys such as conv_in.weight or text_model.*): "
                + "pass the folder it belongs to instead"),
        UNKNOWN("not an SDXL checkpoint: no key under model.diffusion_model., first_stage_model., "
                + "conditioner.embedders.0.transformer. or conditioner.embedders.1.model.");

        private final String description;

        Kind(String description) {
            this.description = description;
        }

        public String description() {
            return description;
        }
    }

    private final SafeTensorsFile file;
    private final Map<Component, List<String>> keys;
    private final List<String> otherKeys;

    private SingleFileCheckpoint(SafeTensorsFile file, Map<Component, List<String>> keys, List<String> otherKeys) {
        this.file = file;
        this.keys = keys;
        this.otherKeys = otherKeys;
    }

    /**
     * Opens a single-file checkpoint; a file of any other {@link Kind} is an error that says what it looks like.
     * Pickle checkpoints ({@code .ckpt}, {@code .pt}, {@code .bin}) are refused without being read.
     */
    public static SingleFileCheckpoint open(Path path) throws IOException {
        String name = path.getFileName() == null ? "" : path.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".ckpt") || name.endsWith(".pt") || name.endsWith(".pth") || name.endsWith(".bin")) {
            throw new SingleFileException(path + ": pickle checkpoints are never loaded (code execution risk); "
                    + "use the .safetensors version of the checkpoint");
        }
        SafeTensorsFile f = SafeTensorsFile.open(path);
        try {
            Kind kind = detect(f.tensors().keySet());
            if (kind != Kind.SDXL_BASE) {
                throw new SingleFileException(path + ": unsupported checkpoint: " + kind.description()
                        + (kind == Kind.DIFFUSERS_COMPONENT ? "" : "; only SDXL base single files are supported"));
            }
            Map<Component, List<String>> byComponent = new EnumMap<>(Component.class);
            List<String> other = new ArrayList<>();
            for (String key : f.tensors().keySet()) {
                Component c = componentOf(key);
                if (c == null) {
                    other.add(key);
                } else {
                    byComponent.computeIfAbsent(c, x -> new ArrayList<>()).add(key.substring(c.prefix().length()));
                }
            }
            byComponent.replaceAll((c, l) -> Collections.unmodifiableList(l));
            return new SingleFileCheckpoint(f, Collections.unmodifiableMap(byComponent), Collections.unmodifiableList(other));
        } catch (RuntimeException e) {
            f.close();
            throw e;
        }
    }

    /** What a set of safetensors keys looks like (the markers of each layout, checked most specific first). */
    public static Kind detect(Set<String> keys) {
        if (keys.stream().anyMatch(k -> k.startsWith("lora_") || k.contains(".lora_") || k.contains("lora_A")
                || k.contains("lora_B") || k.contains(".lora."))) {
            return Kind.LORA;
        }
        if (anyStartsWith(keys, "conditioner.embedders.0.model.")) {
            return Kind.SDXL_REFINER;
        }
        if (anyStartsWith(keys, "cond_stage_model.transformer.")) {
            return Kind.SD1;
        }
        if (anyStartsWith(keys, "cond_stage_model.model.")) {
            return Kind.SD2;
        }
        for (Component c : Component.values()) {
            if (anyStartsWith(keys, c.prefix())) {
                return Kind.SDXL_BASE;
            }
        }
        if (anyStartsWith(keys, "conv_in.") || anyStartsWith(keys, "down_blocks.") || anyStartsWith(keys, "encoder.down_blocks.")
                || anyStartsWith(keys, "text_model.")) {
            return Kind.DIFFUSERS_COMPONENT;
        }
        return Kind.UNKNOWN;
    }

    private static boolean anyStartsWith(Set<String> keys, String prefix) {
        return keys.stream().anyMatch(k -> k.startsWith(prefix));
    }

    private static Component componentOf(String key) {
        for (Component c : Component.values()) {
            if (key.startsWith(c.prefix())) {
                return c;
            }
        }
        return null;
    }

    public Path path() {
        return file.path();
    }

    /** The components that have at least one tensor in the file. */
    public Set<Component> components() {
        return Collections.unmodifiableSet(keys.keySet());
    }

    /** Stored keys (prefix stripped) of one component, in file order; empty when absent. */
    public List<String> keys(Component c) {
        return keys.getOrDefault(c, List.of());
    }

    /** Keys outside the four component prefixes; they are not read. */
    public List<String> otherKeys() {
        return otherKeys;
    }

    /** Fails, naming the missing prefixes, unless the file holds all four models (what a full pipeline needs). */
    public void requireComplete() {
        List<String> missing = new ArrayList<>();
        for (Component c : Component.values()) {
            if (!keys.containsKey(c)) {
                missing.add(c.prefix() + "* (" + c.folder() + ")");
            }
        }
        if (!missing.isEmpty()) {
            throw new SingleFileException(path() + ": incomplete SDXL checkpoint, no tensor under " + String.join(", ", missing)
                    + " (it has " + keys.keySet().stream().map(Component::prefix).toList() + ")");
        }
    }

    /**
     * The first of {@link SingleFileConfigs#PRESETS} whose models fit the {@code needed} components (all the file holds
     * when none are named), judged from the header shapes; when none fits, the error of the sdxl preset, which names
     * each differing key.
     */
    public SingleFileConfigs configs(Component... needed) {
        Set<Component> check = needed.length == 0 ? components() : Set.of(needed);
        SingleFileException first = null;
        for (String name : SingleFileConfigs.PRESETS) {
            SingleFileConfigs cfg = SingleFileConfigs.preset(name);
            try {
                for (Component c : check) {
                    plan(c, cfg);
                }
                return cfg;
            } catch (SingleFileException e) {
                first = first == null ? e : first;
            }
        }
        throw first;
    }

    /** Opens {@code file}, loads its UNet with {@code configs} (null: the preset that fits) and closes the file. */
    public static UNet2DConditionModel loadUnet(Path file, SingleFileConfigs configs, NDManager manager, DataType dtype)
            throws IOException {
        try (SingleFileCheckpoint c = open(file)) {
            return c.unet(configs != null ? configs : c.configs(Component.UNET), manager, dtype);
        }
    }

    /** The UNet with {@code configs.unet()}, floating weights as {@code dtype}. */
    public UNet2DConditionModel unet(SingleFileConfigs configs, NDManager manager, DataType dtype) throws IOException {
        var cfg = configs.require(configs.unet(), Component.UNET);
        return build(Component.UNET, configs, vb -> new UNet2DConditionModel(vb, cfg), manager, dtype);
    }

    /** The VAE with {@code configs.vae()}. */
    public AutoencoderKL vae(SingleFileConfigs configs, NDManager manager, DataType dtype) throws IOException {
        var cfg = configs.require(configs.vae(), Component.VAE);
        return build(Component.VAE, configs, vb -> new AutoencoderKL(vb, cfg), manager, dtype);
    }

    /** Text encoder 1 (CLIP ViT-L, {@code CLIPTextModel}) with {@code configs.textEncoder()}. */
    public CLIPTextModel textEncoder(SingleFileConfigs configs, NDManager manager, DataType dtype) throws IOException {
        var cfg = configs.require(configs.textEncoder(), Component.TEXT_ENCODER);
        return build(Component.TEXT_ENCODER, configs, vb -> new CLIPTextModel(vb, cfg), manager, dtype);
    }

    /** Text encoder 2 (OpenCLIP bigG as {@code CLIPTextModelWithProjection}) with {@code configs.textEncoder2()}. */
    public CLIPTextModelWithProjection textEncoder2(SingleFileConfigs configs, NDManager manager, DataType dtype)
            throws IOException {
        var cfg = configs.require(configs.textEncoder2(), Component.TEXT_ENCODER_2);
        return build(Component.TEXT_ENCODER_2, configs, vb -> new CLIPTextModelWithProjection(vb, cfg), manager, dtype);
    }

    private <T> T build(Component c, SingleFileConfigs configs, Function<Weights, T> model, NDManager manager, DataType dtype)
            throws IOException {
        Map<String, NDArray> tensors = convert(c, configs, parameterShapes(model), manager, dtype);
        Weights vb = Weights.of(manager, tensors, path() + " (" + c.prefix() + "*, converted)");
        T built = model.apply(vb);
        vb.checkAllUsed(Set.of());
        return built;
    }

    /** The parameter shapes, by diffusers/transformers key, of a model built by {@code model}. */
    static Map<String, long[]> parameterShapes(Function<Weights, ?> model) {
        try (NDManager m = NDManager.newBaseManager()) {
            Weights shapes = Weights.shapesOnly(m);
            model.apply(shapes);
            return new LinkedHashMap<>(shapes.requested());
        }
    }

    /**
     * The file tensors of component {@code c} as the parameters of its diffusers model (key -> tensor), for a model whose
     * parameters have {@code shapes}; floating tensors as {@code dtype}. Values are unchanged: fused q/k/v are split
     * into row views, {@code text_projection} is transposed, VAE 1x1 attention convs are reshaped.
     */
    public Map<String, NDArray> convert(Component c, SingleFileConfigs configs, Map<String, long[]> shapes, NDManager manager,
            DataType dtype) throws IOException {
        Map<String, TensorSource> plan = plan(c, configs, shapes);
        Map<String, NDArray> fused = new HashMap<>();
        Map<String, NDArray> out = new LinkedHashMap<>();
        for (Map.Entry<String, TensorSource> e : plan.entrySet()) {
            TensorSource s = e.getValue();
            String fileKey = c.prefix() + s.fileKey();
            NDArray stored = fused.get(fileKey);
            if (stored == null) {
                stored = file.load(fileKey, manager, dtype);
                if (s.transform().fused()) {
                    fused.put(fileKey, stored); // q, k and v are views of one loaded tensor
                }
            }
            out.put(e.getKey(), s.transform().apply(stored, shapes.get(e.getKey())));
        }
        return out;
    }

    /** {@link #plan(Component, SingleFileConfigs, Map)} for the model {@code configs} describe. */
    Map<String, TensorSource> plan(Component c, SingleFileConfigs configs) {
        Map<String, long[]> shapes = switch (c) {
            case UNET -> parameterShapes(vb -> new UNet2DConditionModel(vb, configs.require(configs.unet(), c)));
            case TEXT_ENCODER -> parameterShapes(vb -> new CLIPTextModel(vb, configs.require(configs.textEncoder(), c)));
            case TEXT_ENCODER_2 -> parameterShapes(vb -> new CLIPTextModelWithProjection(vb, configs.require(configs.textEncoder2(), c)));
            case VAE -> parameterShapes(vb -> new AutoencoderKL(vb, configs.require(configs.vae(), c)));
        };
        return plan(c, configs, shapes);
    }

    /**
     * Where each parameter comes from, checked against the header: every parameter's file key present with a fitting
     * shape and a floating dtype, and every file key under the prefix used (or {@link Component#ignorable}). All
     * problems are reported at once.
     */
    public Map<String, TensorSource> plan(Component c, SingleFileConfigs configs, Map<String, long[]> shapes) {
        if (!keys.containsKey(c)) {
            throw new SingleFileException(path() + ": no tensor under " + c.prefix() + " (the " + c.folder()
                    + "); this file has " + keys.keySet().stream().map(Component::prefix).toList());
        }
        Function<String, TensorSource> names = names(c, configs);
        Map<String, TensorSource> plan = new LinkedHashMap<>();
        Set<String> used = new TreeSet<>();
        List<String> missing = new ArrayList<>();
        List<String> mismatched = new ArrayList<>();
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            TensorSource s = names.apply(e.getKey());
            if (s == null) {
                throw new SingleFileException("the " + c.folder() + " parameter '" + e.getKey()
                        + "' has no name in the single-file layout (" + configs.source() + ")");
            }
            String fileKey = c.prefix() + s.fileKey();
            TensorInfo info = file.tensors().get(fileKey);
            if (info == null) {
                missing.add(fileKey + " (for " + e.getKey() + ")");
                continue;
            }
            used.add(s.fileKey());
            if (!info.dtype().isFloating()) {
                mismatched.add(fileKey + " is " + info.dtype() + ", expected a floating dtype");
            } else if (!s.transform().accepts(info.shape(), e.getValue())) {
                mismatched.add(fileKey + " has shape " + Arrays.toString(info.shape()) + ", the " + c.folder() + " expects "
                        + s.transform().expectedFileShape(e.getValue()) + " (for " + e.getKey() + ")");
            }
            plan.put(e.getKey(), s);
        }
        List<String> unknown = new ArrayList<>();
        for (String k : keys(c)) {
            if (!used.contains(k) && !c.ignorable().contains(k)) {
                unknown.add(c.prefix() + k);
            }
        }
        if (!mismatched.isEmpty() || !missing.isEmpty() || !unknown.isEmpty()) {
            StringBuilder msg = new StringBuilder(path() + ": this checkpoint's " + c.folder() + " does not match "
                    + configs.source() + ":");
            section(msg, mismatched, "tensor(s) with another shape or dtype");
            section(msg, missing, "parameter(s) missing from the file");
            section(msg, unknown, "tensor(s) in the file that match no parameter");
            msg.append(" pass the configs that describe it (--config-from DIR: a diffusers SDXL folder with ")
                    .append(c.folder()).append("/config.json, or --config ").append(String.join("|", SingleFileConfigs.PRESETS))
                    .append(')');
            throw new SingleFileException(msg.toString());
        }
        return plan;
    }

    private static void section(StringBuilder msg, List<String> items, String what) {
        if (items.isEmpty()) {
            return;
        }
        int show = Math.min(items.size(), 5);
        msg.append(' ').append(items.size()).append(' ').append(what).append(": ").append(String.join(", ", items.subList(0, show)))
                .append(items.size() > show ? ", ... (" + (items.size() - show) + " more)" : "").append(';');
    }

    private static Function<String, TensorSource> names(Component c, SingleFileConfigs configs) {
        return switch (c) {
            case UNET -> {
                SgmUnetNames sgm = SgmUnetNames.of(configs.require(configs.unet(), c));
                yield key -> {
                    String k = sgm.toSgmKey(key);
                    return k == null ? null : TensorSource.same(k);
                };
            }
            case TEXT_ENCODER -> TensorSource::same;
            case TEXT_ENCODER_2 -> OpenClipNames::source;
            case VAE -> {
                SgmVaeNames sgm = new SgmVaeNames(configs.require(configs.vae(), c).blockOutChannels().size());
                yield key -> {
                    String k = sgm.toSgmKey(key);
                    return k == null ? null
                            : new TensorSource(k, SgmVaeNames.isAttentionProjectionWeight(key) ? Transform.SQUEEZE_1X1 : Transform.SAME);
                };
            }
        };
    }

    @Override
    public void close() throws IOException {
        file.close();
    }
}
