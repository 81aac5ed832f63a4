package io.lcmlora.model.unet;

/** The units a UNet forward is made of, as seen by a {@link BlockRunner}: UNet-level blocks and the layers inside them. */
enum BlockKind {
    /** time_proj, time_embedding, add_embedding and conv_in: () -> (emb, conv_in output). */
    PRELUDE,
    /** one down block: (h, emb, context) -> its skip connections, the last being its output. */
    DOWN,
    /** the mid block: (h, emb, context) -> h. */
    MID,
    /** one up block: (h, its skips..., emb, context) -> h. */
    UP,
    /** conv_norm_out, SiLU, conv_out: h -> the prediction. */
    HEAD,
    /** one ResnetBlock2D (in up blocks with its skip concatenation): (h[, skip], emb) -> h. */
    RESNET,
    /** a Downsample2D: h -> h. */
    DOWNSAMPLE,
    /** an Upsample2D: h -> h. */
    UPSAMPLE,
    /** Transformer2DModel's norm and proj_in: x [B, C, H, W] -> tokens [B, H*W, C]. */
    TRANSFORMER_IN,
    /** one BasicTransformerBlock: (tokens, context) -> tokens. */
    TRANSFORMER_BLOCK,
    /** Transformer2DModel's proj_out and residual: (tokens, x) -> [B, C, H, W]. */
    TRANSFORMER_OUT;

    /** A UNet-level block (the rest are layers inside a block, or, for PRELUDE and HEAD, a block of one layer). */
    boolean isBlock() {
        return switch (this) {
            case PRELUDE, DOWN, MID, UP, HEAD -> true;
            case RESNET, DOWNSAMPLE, UPSAMPLE, TRANSFORMER_IN, TRANSFORMER_BLOCK, TRANSFORMER_OUT -> false;
        };
    }

    /** Whether this unit contains other units (its own computation is all inside them). */
    boolean isContainer() {
        return switch (this) {
            case DOWN, MID, UP -> true;
            case PRELUDE, HEAD, RESNET, DOWNSAMPLE, UPSAMPLE, TRANSFORMER_IN, TRANSFORMER_BLOCK, TRANSFORMER_OUT -> false;
        };
    }
}
