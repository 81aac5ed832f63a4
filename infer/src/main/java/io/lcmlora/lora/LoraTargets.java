package io.lcmlora.lora;

import io.lcmlora.nn.AdaptableLayer;
import io.lcmlora.nn.Conv2d;
import io.lcmlora.nn.Linear;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Which modules a LoRA adapts (PEFT's target_modules rule) and how many parameters it has. */
public final class LoraTargets {
    private LoraTargets() {}

    /** The target list of diffusers' train_lcm_distill_lora_sdxl.py (--lora_target_modules default). */
    public static final List<String> LCM_LORA = List.of("to_q", "to_k", "to_v", "to_out.0", "proj_in", "proj_out",
            "ff.net.0.proj", "ff.net.2", "conv1", "conv2", "conv_shortcut", "downsamplers.0.conv", "upsamplers.0.conv",
            "time_emb_proj");

    /** PEFT's rule: a module matches a target if its path equals it or ends with {@code "." + target}. */
    public static boolean matches(String path, List<String> targets) {
        for (String t : targets) {
            if (path.equals(t) || path.endsWith("." + t)) {
                return true;
            }
        }
        return false;
    }

    /** The layers matched by {@code targets}, in the model's order. */
    public static Map<String, AdaptableLayer> select(Map<String, AdaptableLayer> layers, List<String> targets) {
        Map<String, AdaptableLayer> out = new LinkedHashMap<>();
        layers.forEach((path, layer) -> {
            if (matches(path, targets)) {
                out.put(path, layer);
            }
        });
        return out;
    }

    /** The kind of a module for summaries: the target it matches (longest first), else its last path segment. */
    public static String typeOf(String path, List<String> targets) {
        String best = null;
        for (String t : targets) {
            if ((path.equals(t) || path.endsWith("." + t)) && (best == null || t.length() > best.length())) {
                best = t;
            }
        }
        return best != null ? best : path.substring(path.lastIndexOf('.') + 1);
    }

    /** Parameters of a rank-r LoRA on one layer: r*(in + out) for Linear, r*(in*k*k + out) for Conv2d (B is 1x1). */
    public static long parameterCount(AdaptableLayer layer, int rank) {
        if (layer instanceof Linear l) {
            return rank * (l.in() + l.out());
        }
        if (layer instanceof Conv2d c) {
            return rank * (c.in() * c.kernel() * c.kernel() + c.out());
        }
        throw new IllegalArgumentException(layer.path() + ": not a Linear or Conv2d");
    }

    /** Module count and parameter count of a rank-r LoRA over {@code layers}. */
    public record Count(int modules, long parameters) {}

    public static Count count(Map<String, AdaptableLayer> layers, int rank) {
        long n = 0;
        for (AdaptableLayer l : layers.values()) {
            n += parameterCount(l, rank);
        }
        return new Count(layers.size(), n);
    }
}
