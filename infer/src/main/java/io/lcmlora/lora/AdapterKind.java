package io.lcmlora.lora;

/**
 * The kind of one adapted module, as ComfyUI's {@code comfy/weight_adapter/} and LyCORIS compute its weight difference
 * dW (the adapter weight w from the command line multiplies it):
 * <ul>
 *   <li>{@link #LORA}: dW = B @ A * alpha / rank ({@code lora_down}/{@code lora_up}, {@code lora_A}/{@code lora_B}).</li>
 *   <li>{@link #LOHA}: dW = (w1a @ w1b) * (w2a @ w2b) * alpha / rank, rank = w1b's rows ({@code hada_w1_a/b},
 *       {@code hada_w2_a/b}); conv factors are flattened [out, r] @ [r, in * kh * kw].</li>
 *   <li>{@link #LOKR}: dW = kron(w1, w2) * alpha / dim ({@code lokr_w1} or {@code lokr_w1_a/b}, {@code lokr_w2} or
 *       {@code lokr_w2_a/b}), dim = the rank of the decomposed factor; no alpha scaling when both are full.</li>
 *   <li>{@link #LOCON_TUCKER}: LoCon with a Tucker core ({@code lora_up} [out, r, 1, 1], {@code lora_mid}
 *       [r, r, kh, kw], {@code lora_down} [r, in, 1, 1]): dW[p, q, k, l] = sum_ij up[p, i] mid[i, j, k, l] down[j, q]
 *       * alpha / rank, rank = lora_down's rows (ComfyUI {@code lora.py}); at runtime down (1x1), mid (the conv's
 *       kernel, stride and padding), up (1x1).</li>
 *   <li>{@link #FULL_DIFF}: dW = {@code diff} (a stored full weight difference).</li>
 *   <li>{@link #BIAS_DIFF}: only a bias difference, db = {@code diff_b} [out]. Every other kind may carry one too
 *       (ComfyUI patches {@code <module>.bias} with it beside the weight adapter); the bias becomes b + w * db.</li>
 *   <li>{@link #DORA}: a LoRA pair plus a magnitude that re-normalises {@code V = W + B @ A * alpha / rank}
 *       ({@link DoraAxis}): kohya {@code dora_scale} per input column (ComfyUI; the pair may have a LoCon Tucker core), PEFT {@code lora_magnitude_vector}
 *       per output row.</li>
 * </ul>
 */
public enum AdapterKind {
    LORA("lora"), LOHA("loha"), LOKR("lokr"), LOCON_TUCKER("locon tucker"), FULL_DIFF("full diff"), BIAS_DIFF("bias diff"),
    DORA("dora");

    private final String label;

    AdapterKind(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }
}
