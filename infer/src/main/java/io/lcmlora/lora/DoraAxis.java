package io.lcmlora.lora;

/**
 * The axis a DoRA magnitude re-normalises {@code V = W + dW} along; the two references differ:
 * <ul>
 *   <li>{@link #INPUT}: kohya/LyCORIS {@code dora_scale} ([1, in] or [1, in, 1, 1]), as ComfyUI's
 *       {@code weight_decompose} computes it: {@code n = ||V||} over every axis but 1 (one norm per input column),
 *       {@code W_dora = dora_scale * V / n}; the adapter weight s blends outside: {@code W' = W + s * (W_dora - W)}.</li>
 *   <li>{@link #OUTPUT}: PEFT {@code lora_magnitude_vector} ([out], conv [1, out, 1, 1]), as peft's
 *       {@code tuners/lora/dora.py}: {@code n = ||V||} over every axis but 0 (one norm per output row), with the
 *       adapter weight inside V ({@code V = W + s * scaling * B @ A}), {@code W' = m * V / n}.</li>
 * </ul>
 */
public enum DoraAxis {
    INPUT, OUTPUT
}
