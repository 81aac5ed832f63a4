package io.lcmlora.train.eval;

import java.nio.file.Path;
import java.util.List;

/**
 * One held-out prompt: its 0-based position in the prompt file (which names its images), the text, an optional
 * negative prompt (null = the config's default), the reference images it contributes to the reference set, and an
 * optional class label (e.g. the emoji category) that a classifier extractor scores the prompt alignment by.
 */
public record EvalPrompt(int index, String prompt, String negativePrompt, List<Path> references, String label) {
    public EvalPrompt {
        if (index < 0) {
            throw new IllegalArgumentException("prompt index must be >= 0, got " + index);
        }
        if (prompt == null) {
            throw new IllegalArgumentException("prompt " + index + " has no text");
        }
        references = List.copyOf(references);
    }
}
