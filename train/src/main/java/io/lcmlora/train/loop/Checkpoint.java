package io.lcmlora.train.loop;

import ai.djl.ndarray.NDArray;
import com.google.gson.JsonObject;
import io.lcmlora.io.FiniteWeights;
import io.lcmlora.io.SafeTensorsFile;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * One complete, verified checkpoint folder (see {@link Checkpoints} for the layout). Restoring copies values into
 * existing arrays, so the model's LoRA arrays and the optimizer's moments keep their identity.
 */
public record Checkpoint(Path dir, long step, Map<String, Rng> rngs, String configYaml, JsonObject state) {
    private static final String NOT_RESUMABLE = "this checkpoint was saved after training diverged and cannot be "
            + "resumed; resume from an earlier checkpoint-<step> folder with --resume DIR";

    public Path loraFile() {
        return dir.resolve(Checkpoints.LORA);
    }

    public Path optimizerFile() {
        return dir.resolve(Checkpoints.OPTIMIZER);
    }

    /** The saved generator of one purpose; fails naming the purposes present. */
    public Rng rng(String name) {
        Rng r = rngs.get(name);
        if (r == null) {
            throw new IllegalArgumentException(dir.resolve(Checkpoints.RNG) + ": no generator '" + name + "' (has "
                    + rngs.keySet() + ")");
        }
        return r.copy();
    }

    /** Copies the saved LoRA weights into these arrays; names and shapes must match exactly, both ways. */
    public void restoreLora(Map<String, NDArray> params) throws IOException {
        try (SafeTensorsFile f = SafeTensorsFile.open(loraFile())) {
            if (!f.tensors().keySet().equals(params.keySet())) {
                throw new IOException(loraFile() + ": holds tensors " + f.tensors().keySet().size()
                        + " that differ from the " + params.size() + " LoRA parameters of this run (e.g. "
                        + firstDifference(f.tensors().keySet(), params.keySet()) + ")");
            }
            FiniteWeights.require(f, f.tensors().keySet(), NOT_RESUMABLE);
            for (var e : params.entrySet()) {
                AdamW.copyInto(f, e.getKey(), e.getValue());
            }
        }
    }

    public void restoreOptimizer(AdamW optimizer) throws IOException {
        try (SafeTensorsFile f = SafeTensorsFile.open(optimizerFile())) {
            FiniteWeights.require(f, f.tensors().keySet(), NOT_RESUMABLE);
        }
        optimizer.load(optimizerFile());
        if (optimizer.steps() > step) { // fewer is fine: skipped fp16 updates do not step the optimizer
            throw new IOException(optimizerFile() + ": optimizer step " + optimizer.steps() + " > checkpoint step " + step);
        }
    }

    private static String firstDifference(java.util.Set<String> a, java.util.Set<String> b) {
        for (String s : a) {
            if (!b.contains(s)) {
                return "'" + s + "' only in the file";
            }
        }
        for (String s : b) {
            if (!a.contains(s)) {
                return "'" + s + "' only in the run";
            }
        }
        return "none";
    }
}
