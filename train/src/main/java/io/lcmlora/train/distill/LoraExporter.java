package io.lcmlora.train.distill;

import com.google.gson.Gson;
import io.lcmlora.io.DType;
import io.lcmlora.io.FiniteWeights;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.io.SafeTensorsWriter;
import io.lcmlora.sgm.SgmUnetNames;
import io.lcmlora.lora.LoraComponent;
import io.lcmlora.lora.LoraFormat;
import io.lcmlora.lora.LoraKeyMap;
import io.lcmlora.model.unet.UNet2DConditionConfig;
import io.lcmlora.train.config.TrainConfig;
import io.lcmlora.train.loop.Checkpoint;
import io.lcmlora.train.loop.Checkpoints;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes a trained LoRA (fp32 masters under PEFT names {@code <module>.lora_A.weight}/{@code lora_B}) as a file the
 * common loaders read, in pure Java (no engine: bf16 is rounded to nearest even by the writer):
 * <ul>
 *   <li>{@link Format#DIFFUSERS}: {@code unet.<module>.lora_A.weight} / {@code lora_B}, what diffusers'
 *       {@code load_lora_weights} reads and {@code train_lcm_distill_lora_sdxl.py} writes. The format has no alpha
 *       (loaders use alpha = rank), so when alpha != rank the scale alpha/rank is folded into B: the delta
 *       {@code alpha/r * B@A} is unchanged.</li>
 *   <li>{@link Format#KOHYA}: kohya-ss sd-scripts' SDXL layout ({@code lora_unet_<SGM path>.lora_down/lora_up.weight}
 *       and {@code .alpha}) with the true alpha (not alpha = rank); A1111/Forge/ComfyUI and diffusers read it.</li>
 *   <li>{@link Format#KOHYA_DIFFUSERS}: kohya-ss keys over diffusers module paths, with the true alpha.</li>
 * </ul>
 * Metadata: rank, alpha, target modules, base model, steps, the resolved config, and kohya's {@code ss_*} fields.
 */
public final class LoraExporter {
    private LoraExporter() {}

    /** The export key conventions of {@code lcm export --format}. */
    public enum Format {
        DIFFUSERS(LoraFormat.PEFT),
        KOHYA(LoraFormat.KOHYA_SGM),
        KOHYA_DIFFUSERS(LoraFormat.KOHYA_DIFFUSERS);

        private final LoraFormat keys;

        Format(LoraFormat keys) {
            this.keys = keys;
        }

        public LoraFormat keys() {
            return keys;
        }

        public static Format parse(String s) {
            return switch (s.toLowerCase(Locale.ROOT).replace('_', '-')) {
                case "diffusers", "peft" -> DIFFUSERS;
                case "kohya", "kohya-sgm" -> KOHYA;
                case "kohya-diffusers" -> KOHYA_DIFFUSERS;
                default -> throw new IllegalArgumentException("--format '" + s + "': expected kohya, kohya-diffusers or diffusers");
            };
        }
    }

    /** A float tensor on the host. */
    public record Tensor(long[] shape, float[] values) {}

    /**
     * What an export describes besides the tensors.
     *
     * @param unetConfig the UNet's config, needed for the SGM names of {@link Format#KOHYA}; null otherwise
     */
    public record Info(int rank, double alpha, List<String> targetModules, String baseModel, long steps, String configYaml,
            UNet2DConditionConfig unetConfig) {}

    /** Parses {@code fp16|bf16|fp32} ({@link io.lcmlora.engine.Precision}) as the file dtype (bf16 is rounded in Java). */
    public static DType dtype(String s) {
        return DType.of(io.lcmlora.engine.Precision.parse(s));
    }

    /** Writes {@code lora} (PEFT names) to {@code out} atomically; returns the number of modules. */
    public static int write(Map<String, Tensor> lora, Info info, Format format, DType dtype, Path out) throws IOException {
        FiniteWeights.require(out, values(lora), "nothing was written: the LoRA to be exported holds them (training "
                + "diverged); export a checkpoint written before the loss went bad");
        Map<String, Tensor[]> modules = new TreeMap<>();
        for (var e : lora.entrySet()) {
            String k = e.getKey();
            int slot = k.endsWith(".lora_A.weight") ? 0 : k.endsWith(".lora_B.weight") ? 1 : -1;
            if (slot < 0) {
                throw new IllegalArgumentException("LoRA tensor '" + k + "': expected <module>.lora_A.weight or .lora_B.weight");
            }
            String module = k.substring(0, k.length() - ".lora_A.weight".length());
            modules.computeIfAbsent(module, m -> new Tensor[2])[slot] = e.getValue();
        }
        SgmUnetNames sgm = format == Format.KOHYA ? sgm(info) : null;
        LoraKeyMap keyMap = LoraKeyMap.of(Map.of(LoraComponent.UNET, modules.keySet()), sgm);
        double scale = info.alpha() / info.rank();
        boolean fold = format == Format.DIFFUSERS && scale != 1.0;
        SafeTensorsWriter w = new SafeTensorsWriter().metadata(metadata(info, format, dtype, fold));
        for (var e : modules.entrySet()) {
            Tensor a = e.getValue()[0];
            Tensor b = e.getValue()[1];
            if (a == null || b == null) {
                throw new IllegalArgumentException("LoRA module '" + e.getKey() + "' lacks its " + (a == null ? "A" : "B") + " matrix");
            }
            if (a.shape()[0] != info.rank()) {
                throw new IllegalArgumentException("LoRA module '" + e.getKey() + "': A has rank " + a.shape()[0]
                        + ", the run's rank is " + info.rank());
            }
            LoraKeyMap.Keys keys = keyMap.keysFor(format.keys(), LoraComponent.UNET, e.getKey());
            float[] bv = b.values();
            if (fold) {
                bv = bv.clone();
                for (int i = 0; i < bv.length; i++) {
                    bv[i] = (float) (bv[i] * scale);
                }
            }
            w.addFloats(keys.a(), a.shape(), a.values(), dtype);
            w.addFloats(keys.b(), b.shape(), bv, dtype);
            if (keys.alpha() != null) {
                w.addFloats(keys.alpha(), new long[0], new float[] {(float) info.alpha()}, DType.F32);
            }
        }
        Path parent = out.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        w.write(out);
        return modules.size();
    }

    /** Exports a checkpoint folder's LoRA, describing it from its own config.yaml and step. */
    public static int exportCheckpoint(Path checkpointDir, Format format, DType dtype, Path out) throws IOException {
        Checkpoint cp = Checkpoints.load(checkpointDir);
        TrainConfig config = TrainConfig.parse(cp.configYaml());
        Map<String, Tensor> lora = readLora(cp.loraFile());
        FiniteWeights.require(cp.loraFile(), values(lora), "nothing was written to " + out + "; export a checkpoint "
                + "written before the loss went bad");
        return write(lora, info(config, cp.step()), format, dtype, out);
    }

    /** The run's description for an export after {@code steps} steps. */
    public static Info info(TrainConfig config, long steps) throws IOException {
        UNet2DConditionConfig unet = null;
        Path unetConfig = unetConfigPath(config);
        if (unetConfig != null && Files.isRegularFile(unetConfig)) {
            unet = UNet2DConditionConfig.read(unetConfig);
        }
        String base = config.model().path() != null ? config.model().path() : config.model().unet();
        return new Info(config.lora().rank(), config.lora().alpha(), config.lora().targetModules(), base, steps,
                config.toYaml(), unet);
    }

    private static Map<String, float[]> values(Map<String, Tensor> lora) {
        Map<String, float[]> m = new LinkedHashMap<>();
        lora.forEach((k, t) -> m.put(k, t.values()));
        return m;
    }

    /** Reads a LoRA state file (PEFT names) into host tensors. */
    public static Map<String, Tensor> readLora(Path file) throws IOException {
        Map<String, Tensor> out = new LinkedHashMap<>();
        try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
            for (String name : f.tensors().keySet()) {
                out.put(name, new Tensor(f.info(name).shape(), f.floats(name)));
            }
        }
        return out;
    }

    private static Path unetConfigPath(TrainConfig config) {
        if (config.model().unet() != null) {
            return Path.of(config.model().unet(), "config.json");
        }
        if (config.model().path() != null && !config.model().isSingleFile()) {
            return Path.of(config.model().path(), "unet", "config.json");
        }
        return null;
    }

    private static SgmUnetNames sgm(Info info) {
        if (info.unetConfig() == null) {
            throw new IllegalArgumentException("--format kohya names modules by the SGM UNet layout, which needs the UNet's "
                    + "config.json (model.unet or model.path of the run's config); it was not found. Use --format "
                    + "kohya-diffusers (kohya keys over diffusers paths) or diffusers instead");
        }
        return SgmUnetNames.of(info.unetConfig());
    }

    private static Map<String, String> metadata(Info info, Format format, DType dtype, boolean folded) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("format", "pt");
        m.put("producer", "lcm-lora-java distill");
        m.put("lora_format", format.name().toLowerCase(Locale.ROOT).replace('_', '-'));
        m.put("rank", Integer.toString(info.rank()));
        m.put("alpha", Double.toString(info.alpha()));
        m.put("alpha_folded_into_B", Boolean.toString(folded));
        m.put("target_modules", new Gson().toJson(info.targetModules()));
        m.put("base_model", String.valueOf(info.baseModel()));
        m.put("steps", Long.toString(info.steps()));
        m.put("dtype", dtype.name());
        m.put("config", info.configYaml());
        m.put("ss_network_module", "networks.lora");
        m.put("ss_network_dim", Integer.toString(info.rank()));
        m.put("ss_network_alpha", format == Format.DIFFUSERS ? Integer.toString(info.rank()) : Double.toString(info.alpha()));
        m.put("ss_base_model_version", "sdxl_base_v1-0");
        m.put("ss_steps", Long.toString(info.steps()));
        m.put("ss_training_comment", "LCM-LoRA (latent consistency distillation) trained by lcm-lora-java");
        return m;
    }
}
