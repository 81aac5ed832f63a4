package io.lcmlora.pipeline;

import java.nio.file.Path;

/**
 * A LoRA to load: {@code FILE[:WEIGHT]} on the command line (weight 1 when omitted; the last {@code :} followed by a
 * number separates the weight, so paths with colons still work).
 *
 * @param file the .safetensors file (any key convention the lora package reads)
 * @param weight the adapter weight (PEFT's adapter_weights)
 */
public record LoraSpec(Path file, double weight) {
    public LoraSpec {
        if (file == null) {
            throw new IllegalArgumentException("a LoRA file is required");
        }
        if (!Double.isFinite(weight)) {
            throw new IllegalArgumentException(file + ": LoRA weight must be finite, got " + weight);
        }
    }

    public static LoraSpec parse(String s) {
        int colon = s.lastIndexOf(':');
        if (colon > 0 && colon < s.length() - 1) {
            try {
                return new LoraSpec(Path.of(s.substring(0, colon)), Double.parseDouble(s.substring(colon + 1)));
            } catch (NumberFormatException e) {
                // not a weight: the colon belongs to the path
            }
        }
        return new LoraSpec(Path.of(s), 1.0);
    }

    /** The adapter name: the file name without .safetensors. */
    public String name() {
        String n = file.getFileName().toString();
        return n.endsWith(".safetensors") ? n.substring(0, n.length() - ".safetensors".length()) : n;
    }
}
