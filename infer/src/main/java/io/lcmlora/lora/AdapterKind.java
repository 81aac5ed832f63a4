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
 *   <li>{@link #FULL_DIFF}: dW = {@code diff} (a stored full weight difference).</li>
 *   <li>{@link #DORA}: a LoRA pair plus a magnitude that re-normalises {@code V = W + B @ A * alpha / rank}
 *       ({@link DoraAxis}): kohya {@code dora_scale} per input column (ComfyUI), PEFT {@code lora_magnitude_vector}
 *       per output row.</li>
 * </ul>
 */
public enum AdapterKind {
    LORA("lora"), LOHA("loha"), LOKR("lokr"), FULL_DIFF("full diff"), DORA("dora");

    private final String label;

    AdapterKind(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }
}
