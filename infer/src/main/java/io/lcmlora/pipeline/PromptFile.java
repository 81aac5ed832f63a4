package io.lcmlora.pipeline;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A prompts file for batch generation: one prompt per line, or JSON lines
 * {@code {"prompt": ..., "negative_prompt": ..., "seed": ...}} (a line starting with {@code {} is JSON; the two
 * kinds may be mixed). Blank lines and lines starting with {@code #} are skipped.
 */
public final class PromptFile {
    /**
     * One line's prompt.
     *
     * @param negativePrompt null when the line gives none (the command's --negative-prompt applies)
     * @param seed null when the line gives none (the command's --seed applies)
     */
    public record Entry(String prompt, String negativePrompt, Long seed) {}

    private PromptFile() {}

    public static List<Entry> read(Path file) throws IOException {
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        List<Entry> out = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            out.add(line.startsWith("{") ? json(file, i + 1, line) : new Entry(line, null, null));
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException(file + ": no prompts (one per line, or JSON lines with \"prompt\")");
        }
        return out;
    }

    private static Entry json(Path file, int lineNo, String line) {
        String where = file + " line " + lineNo;
        JsonObject o;
        try {
            JsonElement e = JsonParser.parseString(line);
            if (!e.isJsonObject()) {
                throw new IllegalArgumentException(where + ": expected a JSON object");
            }
            o = e.getAsJsonObject();
        } catch (JsonParseException e) {
            throw new IllegalArgumentException(where + ": invalid JSON: " + e.getMessage(), e);
        }
        for (String key : o.keySet()) {
            if (!List.of("prompt", "negative_prompt", "seed").contains(key)) {
                throw new IllegalArgumentException(where + ": unknown field '" + key + "' (expected prompt, negative_prompt, seed)");
            }
        }
        if (!o.has("prompt") || !o.get("prompt").isJsonPrimitive() || !o.getAsJsonPrimitive("prompt").isString()) {
            throw new IllegalArgumentException(where + ": field 'prompt' is missing or not a string");
        }
        String negative = null;
        if (o.has("negative_prompt") && !o.get("negative_prompt").isJsonNull()) {
            if (!o.get("negative_prompt").isJsonPrimitive() || !o.getAsJsonPrimitive("negative_prompt").isString()) {
                throw new IllegalArgumentException(where + ": field 'negative_prompt' is not a string");
            }
            negative = o.get("negative_prompt").getAsString();
        }
        Long seed = null;
        if (o.has("seed") && !o.get("seed").isJsonNull()) {
            try {
                seed = o.getAsJsonPrimitive("seed").getAsBigDecimal().longValueExact();
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(where + ": field 'seed' is " + o.get("seed") + ", expected an integer", e);
            }
        }
        return new Entry(o.get("prompt").getAsString(), negative, seed);
    }
}
