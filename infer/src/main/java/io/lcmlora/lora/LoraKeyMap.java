package io.lcmlora.lora;

import io.lcmlora.sgm.SgmUnetNames;
import io.lcmlora.model.unet.UNet2DConditionModel;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * LoRA file key <-> (component, module path) in every convention of {@link LoraFormat}, both directions in one place.
 * Kohya stems ({@code lora_unet_down_blocks_0_resnets_0_time_emb_proj}) cannot be turned back into paths by string
 * repair ("_" is both the separator and part of names), so they are looked up in a table built from the model's own
 * module names: {@code stem(module) -> module}, for the diffusers paths and, for the UNet, their SGM paths.
 */
public final class LoraKeyMap {
    /**
     * Which tensor of an adapted module a key holds: LoRA's A (down), B (up), the alpha scalar, or a LyCORIS factor
     * (kohya names only: {@code <stem>.hada_w1_a}, {@code .lokr_w2_b}, {@code .diff}, ...; see {@link AdapterKind}).
     */
    public enum Role {
        A, B, ALPHA,
        HADA_W1_A, HADA_W1_B, HADA_W2_A, HADA_W2_B, HADA_T1, HADA_T2,
        LOKR_W1, LOKR_W1_A, LOKR_W1_B, LOKR_W2, LOKR_W2_A, LOKR_W2_B, LOKR_T2,
        DIFF,
        /** LoCon's Tucker core ({@code .lora_mid.weight}, [r, r, kh, kw]). */
        MID,
        /** A bias difference ({@code .diff_b}, [out]); belongs to any kind (like alpha). */
        DIFF_B,
        /** kohya DoRA magnitude ({@code .dora_scale}, per input column). */
        DORA_SCALE,
        /** PEFT DoRA magnitude ({@code .lora_magnitude_vector}, per output row); PEFT spelling only. */
        MAGNITUDE;

        /** The kohya key suffix of a LyCORIS factor ({@code .hada_w1_a}, {@code .lora_mid.weight}), null for A, B and alpha. */
        public String kohyaSuffix() {
            if (this == MID) {
                return ".lora_mid.weight";
            }
            return ordinal() <= ALPHA.ordinal() || this == MAGNITUDE ? null : "." + name().toLowerCase(java.util.Locale.ROOT);
        }

        /** The adapter kind a tensor of this role belongs to (alpha and a bias difference belong to every kind: null). */
        public AdapterKind kind() {
            return switch (this) {
                case A, B -> AdapterKind.LORA;
                case ALPHA, DIFF_B -> null;
                case HADA_W1_A, HADA_W1_B, HADA_W2_A, HADA_W2_B, HADA_T1, HADA_T2 -> AdapterKind.LOHA;
                case LOKR_W1, LOKR_W1_A, LOKR_W1_B, LOKR_W2, LOKR_W2_A, LOKR_W2_B, LOKR_T2 -> AdapterKind.LOKR;
                case DIFF -> AdapterKind.FULL_DIFF;
                case MID -> AdapterKind.LOCON_TUCKER;
                case DORA_SCALE, MAGNITUDE -> AdapterKind.DORA;
            };
        }
    }

    /** What a key names; {@code format} is null for a dotted {@code .alpha} key (valid in several conventions). */
    public record Target(LoraComponent component, String module, Role role, LoraFormat format) {}

    /** The keys of one module in one convention; {@code alpha} is null where the convention stores none. */
    public record Keys(String a, String b, String alpha) {}

    private record Stem(LoraComponent component, String module, LoraFormat format) {}

    private static final Pattern PEFT = Pattern.compile("(.+)\\.lora_([AB])(?:\\.[^.]+)?\\.weight");
    private static final Pattern LEGACY = Pattern.compile("(.+)\\.(?:lora|lora_linear_layer)\\.(down|up)\\.weight");
    private static final Pattern PROCESSOR = Pattern.compile("(.+)\\.(to_q|to_k|to_v|to_out)_lora\\.(down|up)\\.weight");
    private static final Pattern MAGNITUDE = Pattern.compile("(.+)\\.lora_magnitude_vector(?:\\.[^.]+)?(?:\\.weight)?");
    private static final Pattern ALPHA = Pattern.compile("(.+)\\.alpha");
    private static final String RAW_PEFT_PREFIX = "base_model.model.";
    private static final Map<String, String> TE_PROCESSOR_NAMES = Map.of(
            "to_q", "q_proj", "to_k", "k_proj", "to_v", "v_proj", "to_out", "out_proj");

    private final Map<LoraComponent, Set<String>> modules;
    private final SgmUnetNames sgm;
    private final Map<String, Stem> stems = new HashMap<>();
    private final Map<String, List<String>> ambiguousStems = new HashMap<>();

    private LoraKeyMap(Map<LoraComponent, Set<String>> modules, SgmUnetNames sgm) {
        this.modules = modules;
        this.sgm = sgm;
        for (Map.Entry<LoraComponent, Set<String>> e : modules.entrySet()) {
            LoraComponent c = e.getKey();
            for (String module : e.getValue()) {
                addStem(kohyaStem(c, module), new Stem(c, module, LoraFormat.KOHYA_DIFFUSERS));
                String sgmPath = c == LoraComponent.UNET && sgm != null ? sgm.toSgm(module) : null;
                if (sgmPath != null) {
                    addStem(kohyaStem(c, sgmPath), new Stem(c, module, LoraFormat.KOHYA_SGM));
                }
            }
        }
    }

    /**
     * @param modules the adaptable module names of each component the model has (a component left out gets none)
     * @param sgm the UNet's SGM layout for kohya SGM stems, or null to accept diffusers stems only
     */
    public static LoraKeyMap of(Map<LoraComponent, ? extends Collection<String>> modules, SgmUnetNames sgm) {
        Map<LoraComponent, Set<String>> copy = new EnumMap<>(LoraComponent.class);
        for (LoraComponent c : LoraComponent.values()) {
            Collection<String> names = modules.get(c);
            copy.put(c, names == null ? Set.of() : Collections.unmodifiableSet(new LinkedHashSet<>(names)));
        }
        return new LoraKeyMap(copy, sgm);
    }

    /** The key map of a UNet alone: its layers and its SGM layout (text-encoder keys then match nothing). */
    public static LoraKeyMap of(UNet2DConditionModel unet) {
        return of(Map.of(LoraComponent.UNET, unet.layers().keySet()), SgmUnetNames.of(unet.config()));
    }

    private void addStem(String stem, Stem s) {
        Stem prev = stems.putIfAbsent(stem, s);
        if (prev != null && !prev.equals(s)) {
            ambiguousStems.computeIfAbsent(stem, k -> new ArrayList<>(List.of(prev.module()))).add(s.module());
        }
    }

    /** The kohya stem of a module path: the component prefix and the path with every "." as "_". */
    public static String kohyaStem(LoraComponent c, String path) {
        return c.kohyaPrefix() + path.replace('.', '_');
    }

    public Set<String> modules(LoraComponent c) {
        return modules.get(c);
    }

    public SgmUnetNames sgm() {
        return sgm;
    }

    /** What {@code key} names, or null when it matches no module of the model in any convention. */
    public Target resolve(String key) {
        if (key.startsWith("lora_")) {
            return resolveKohya(key);
        }
        if (key.startsWith(LoraFormat.COMFY_UNET_PREFIX)) {
            // diffusion_model.<SGM path>.<kohya suffix> is the kohya SGM stem spelled with dots
            String rest = key.substring(LoraFormat.COMFY_UNET_PREFIX.length());
            int suffix = rest.endsWith(".lora_down.weight") || rest.endsWith(".lora_up.weight") || rest.endsWith(".lora_mid.weight")
                    ? rest.lastIndexOf('.', rest.length() - ".weight".length() - 1) : rest.lastIndexOf('.');
            if (suffix <= 0) {
                return null;
            }
            Target t = resolveKohya(kohyaStem(LoraComponent.UNET, rest.substring(0, suffix)) + rest.substring(suffix));
            return t == null || t.format() != LoraFormat.KOHYA_SGM ? null : new Target(t.component(), t.module(), t.role(), LoraFormat.COMFYUI);
        }
        Role role;
        LoraFormat format;
        String path;
        boolean processor = false;
        Matcher m;
        if ((m = PEFT.matcher(key)).matches()) {
            role = m.group(2).equals("A") ? Role.A : Role.B;
            format = LoraFormat.PEFT;
            path = m.group(1);
        } else if ((m = MAGNITUDE.matcher(key)).matches()) {
            role = Role.MAGNITUDE;
            format = LoraFormat.PEFT;
            path = m.group(1);
        } else if ((m = PROCESSOR.matcher(key)).matches()) {
            role = m.group(3).equals("down") ? Role.A : Role.B;
            format = LoraFormat.DIFFUSERS_LEGACY;
            path = m.group(1) + "." + m.group(2);
            processor = true;
        } else if ((m = LEGACY.matcher(key)).matches()) {
            role = m.group(2).equals("down") ? Role.A : Role.B;
            format = LoraFormat.DIFFUSERS_LEGACY;
            path = m.group(1);
        } else if ((m = ALPHA.matcher(key)).matches()) {
            role = Role.ALPHA;
            format = null;
            path = m.group(1);
        } else {
            return null;
        }
        path = stripPrefix(path, RAW_PEFT_PREFIX);
        LoraComponent given = null;
        for (LoraComponent c : new LoraComponent[] {LoraComponent.TEXT_ENCODER_2, LoraComponent.TEXT_ENCODER, LoraComponent.UNET}) {
            if (path.startsWith(c.diffusersPrefix() + ".")) {
                given = c;
                path = stripPrefix(path.substring(c.diffusersPrefix().length() + 1), RAW_PEFT_PREFIX);
                break;
            }
        }
        path = path.replace(".processor.", ".");
        for (LoraComponent c : given != null ? List.of(given) : List.of(LoraComponent.values())) {
            String p = processor ? processorName(c, path) : path;
            if (modules.get(c).contains(p)) {
                return new Target(c, p, role, format);
            }
        }
        return null;
    }

    private Target resolveKohya(String key) {
        Role role;
        String stem;
        if (key.endsWith(".lora_down.weight")) {
            role = Role.A;
            stem = key.substring(0, key.length() - ".lora_down.weight".length());
        } else if (key.endsWith(".lora_up.weight")) {
            role = Role.B;
            stem = key.substring(0, key.length() - ".lora_up.weight".length());
        } else if (key.endsWith(".alpha")) {
            role = Role.ALPHA;
            stem = key.substring(0, key.length() - ".alpha".length());
        } else {
            role = null;
            stem = null;
            for (Role r : Role.values()) {
                String suffix = r.kohyaSuffix();
                if (suffix != null && key.endsWith(suffix)) {
                    role = r;
                    stem = key.substring(0, key.length() - suffix.length());
                    break;
                }
            }
            if (role == null) {
                return null;
            }
        }
        if (stem.startsWith(LoraComponent.KOHYA_SINGLE_TE_PREFIX)) {
            stem = LoraComponent.TEXT_ENCODER.kohyaPrefix() + stem.substring(LoraComponent.KOHYA_SINGLE_TE_PREFIX.length());
        }
        List<String> ambiguous = ambiguousStems.get(stem);
        if (ambiguous != null) {
            throw new LoraException("kohya stem '" + stem + "' fits several modules of the model: " + ambiguous);
        }
        Stem s = stems.get(stem);
        return s == null ? null : new Target(s.component(), s.module(), role, s.format());
    }

    /** Attention-processor spelling: {@code attn1.to_q} (UNet), {@code to_out} -> {@code to_out.0}; text encoders use q_proj... */
    private static String processorName(LoraComponent c, String path) {
        int dot = path.lastIndexOf('.');
        String head = path.substring(0, dot + 1);
        String leaf = path.substring(dot + 1);
        if (c.isTextEncoder()) {
            return head + TE_PROCESSOR_NAMES.getOrDefault(leaf, leaf);
        }
        return leaf.equals("to_out") ? head + "to_out.0" : path;
    }

    private static String stripPrefix(String s, String prefix) {
        return s.startsWith(prefix) ? s.substring(prefix.length()) : s;
    }

    /** The keys a file in {@code format} uses for {@code module} of {@code c} (the inverse of {@link #resolve}). */
    public Keys keysFor(LoraFormat format, LoraComponent c, String module) {
        return switch (format) {
            case PEFT -> new Keys(c.diffusersPrefix() + "." + module + ".lora_A.weight",
                    c.diffusersPrefix() + "." + module + ".lora_B.weight", null);
            case DIFFUSERS_LEGACY -> new Keys(c.diffusersPrefix() + "." + module + ".lora.down.weight",
                    c.diffusersPrefix() + "." + module + ".lora.up.weight", null);
            case KOHYA_DIFFUSERS -> kohyaKeys(kohyaStem(c, module));
            case KOHYA_SGM -> kohyaKeys(kohyaStem(c, c == LoraComponent.UNET ? sgmPath(module) : module));
            case COMFYUI -> {
                if (c != LoraComponent.UNET) {
                    throw new LoraException("ComfyUI-saved LoRAs name UNet modules only, not " + c.diffusersPrefix() + " '" + module + "'");
                }
                String stem = LoraFormat.COMFY_UNET_PREFIX + sgmPath(module);
                yield new Keys(stem + ".lora_down.weight", stem + ".lora_up.weight", null); // ComfyUI saves no alpha
            }
        };
    }

    private String sgmPath(String module) {
        if (sgm == null) {
            throw new LoraException("no SGM layout given: cannot name UNet module '" + module + "' in SGM form");
        }
        String p = sgm.toSgm(module);
        if (p == null) {
            throw new LoraException("UNet module '" + module + "' has no SGM counterpart");
        }
        return p;
    }

    private static Keys kohyaKeys(String stem) {
        return new Keys(stem + ".lora_down.weight", stem + ".lora_up.weight", stem + ".alpha");
    }
}
