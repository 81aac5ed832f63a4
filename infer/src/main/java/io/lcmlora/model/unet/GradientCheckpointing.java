package io.lcmlora.model.unet;

import java.util.Locale;

/**
 * Activation (gradient) checkpointing of a UNet forward that is back-propagated: which units run without keeping
 * their intermediates and are recomputed, one at a time, during the backward pass (config key
 * {@code distill.gradient_checkpointing}).
 */
public enum GradientCheckpointing {
    /** Plain autograd: every intermediate of the forward is kept until the backward pass. */
    OFF,
    /**
     * One segment per UNet block: the input stage (time embeddings, conv_in), each down block, the mid block, each up
     * block and the output head. Keeps only the block outputs (the skip connections); peak memory is about one block's
     * activations; costs one extra forward.
     */
    BLOCKS,
    /**
     * One segment per layer inside the blocks: each resnet, each transformer block, the Transformer2DModel's input and
     * output projections, each down/upsampler (plus the input stage and the head). The finest cut: peak memory is
     * about one transformer block's activations; also costs one extra forward.
     */
    TRANSFORMER;

    /** A YAML boolean: {@code true} = {@link #BLOCKS}, {@code false} = {@link #OFF}. */
    public static GradientCheckpointing fromBoolean(boolean on) {
        return on ? BLOCKS : OFF;
    }

    /** {@code false|off|true|blocks|transformer}, case-insensitive. */
    public static GradientCheckpointing parse(String s) {
        return switch (s.trim().toLowerCase(Locale.ROOT)) {
            case "false", "off" -> OFF;
            case "true", "blocks" -> BLOCKS;
            case "transformer" -> TRANSFORMER;
            default -> throw new IllegalArgumentException("gradient checkpointing '" + s
                    + "': expected false, true, blocks or transformer");
        };
    }
}
