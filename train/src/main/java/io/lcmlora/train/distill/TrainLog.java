package io.lcmlora.train.distill;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.lcmlora.io.AtomicFiles;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code train_log.jsonl}: one JSON object per optimizer step ({@code step, loss, lr, grad_norm, seconds,
 * images_per_second}), appended and flushed each step. A resumed run first rewrites it (atomically) without the
 * lines after its checkpoint's step and without a torn last line, so the file always tells one trajectory.
 */
final class TrainLog {
    private final Path file;

    private TrainLog(Path file) {
        this.file = file;
    }

    /** Opens the log, keeping the lines of steps 1..{@code step} (all earlier lines for a fresh run: none). */
    static TrainLog open(Path file, long step) throws IOException {
        List<String> keep = new ArrayList<>();
        if (Files.isRegularFile(file)) {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                try {
                    JsonObject o = JsonParser.parseString(line).getAsJsonObject();
                    if (o.get("step").getAsLong() <= step) {
                        keep.add(line);
                    }
                } catch (RuntimeException e) {
                    // a line cut by a kill: dropped
                }
            }
        }
        AtomicFiles.writeString(file, keep.isEmpty() ? "" : String.join("\n", keep) + "\n");
        return new TrainLog(file);
    }

    void append(Distiller.StepLog s) throws IOException {
        JsonObject o = new JsonObject();
        o.addProperty("step", s.step());
        o.addProperty("loss", s.loss());
        o.addProperty("lr", s.lr());
        o.addProperty("grad_norm", s.gradNorm());
        o.addProperty("seconds", s.seconds());
        o.addProperty("images_per_second", s.imagesPerSecond());
        try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.APPEND)) {
            w.write(o + "\n");
        }
    }

    /** The losses of a log file by line (step order). */
    static List<Float> losses(Path file) throws IOException {
        List<Float> out = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            out.add(JsonParser.parseString(line).getAsJsonObject().get("loss").getAsFloat());
        }
        return out;
    }
}
