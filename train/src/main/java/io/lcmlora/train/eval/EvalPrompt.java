package io.lcmlora.train.eval;

import java.nio.file.Path;
import java.util.List;

/**
 * One held-out prompt: its 0-based position in the prompt file (which names its images), the text, an optional
 * negative prompt (null = the config's default), the reference images it contributes to the reference set, how
 * many of them (the first {@code ownReferences}) depict this prompt itself (the others only fill the FID reference
 * set), and an optional class label (e.g. the emoji category) that a classifier extractor scores the prompt alignment
 * by.
 */
public record EvalPrompt(int index, String prompt, String negativePrompt, List<Path> references, int ownReferences,
        String label) {
    public EvalPrompt {
        if (index < 0) {
            throw new IllegalArgumentException("prompt index must be >= 0, got " + index);
        }
        if (prompt == null) {
            throw new IllegalArgumentException("prompt " + index + " has no text");
        }
        references = List.copyOf(references);
        if (ownReferences < 0 || ownReferences > references.size()) {
            throw new IllegalArgumentException("prompt " + index + ": own_references " + ownReferences
                    + " must be in [0, " + references.size() + "] (its number of references)");
        }
    }

    /** The reference images of this prompt itself: the first {@code ownReferences} references. */
    public List<Path> ownReferenceImages() {
        return references.subList(0, ownReferences);
    }
}
