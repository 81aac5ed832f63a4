package io.lcmlora.model.clip;

import ai.djl.ndarray.NDArray;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What {@code StableDiffusionXLPipeline.encode_prompt} returns.
 *
 * @param promptEmbeds [B*n, T, D1 + D2]: the two encoders' selected hidden states, encoder 1 first
 * @param pooledPromptEmbeds [B*n, P2]: {@code text_embeds} of encoder 2
 * @param negativePromptEmbeds like promptEmbeds; null without classifier-free guidance
 * @param negativePooledPromptEmbeds like pooledPromptEmbeds; null without classifier-free guidance
 */
public record SdxlPromptEmbeds(NDArray promptEmbeds, NDArray pooledPromptEmbeds, NDArray negativePromptEmbeds,
        NDArray negativePooledPromptEmbeds) {

    /** The outputs under diffusers' names (negatives only when present). */
    public Map<String, NDArray> named() {
        Map<String, NDArray> out = new LinkedHashMap<>();
        out.put("prompt_embeds", promptEmbeds);
        out.put("pooled_prompt_embeds", pooledPromptEmbeds);
        if (negativePromptEmbeds != null) {
            out.put("negative_prompt_embeds", negativePromptEmbeds);
            out.put("negative_pooled_prompt_embeds", negativePooledPromptEmbeds);
        }
        return out;
    }
}
