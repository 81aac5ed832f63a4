package io.lcmlora.train.eval;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The held-out prompt file: JSON Lines, one object per line,
 * {@code {"prompt": "...", "negative_prompt": "...", "references": ["img/0001.png", ...], "own_references": 1,
 * "label": "..."}}. Only {@code prompt} is required; {@code label} is the prompt's class for a classifier's
 * prompt-alignment score; {@code own_references} says how many of the first references depict the prompt itself (the
 * colour-fidelity column's reference; default: all of them), the rest only fill the FID reference set; reference
 * paths are relative to the prompt file's folder (absolute ones are kept). Blank lines are
 * skipped; any other line that is not such an object is an error naming the file and line.
 */
public final class EvalPrompts {
    static final Set<String> KEYS = Set.of("prompt", "negative_prompt", "references", "own_references", "label");

    private EvalPrompts() {}

    public static List<EvalPrompt> read(Path file) throws IOException {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(file + " (prompt file not found)");
        }
        Path base = file.toAbsolutePath().getParent();
        List<EvalPrompt> out = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (!line.isEmpty()) {
                out.add(parse(line, out.size(), base, file + ":" + (i + 1)));
            }
        }
        if (out.isEmpty()) {
            throw new IOException(file + ": no prompts (expected one JSON object per line with a \"prompt\" key)");
        }
        return out;
    }

    private static EvalPrompt parse(String line, int index, Path base, String where) throws IOException {
        JsonObject o;
        try {
            JsonElement e = JsonParser.parseString(line);
            if (!e.isJsonObject()) {
                throw new IOException(where + ": expected a JSON object, got " + e);
            }
            o = e.getAsJsonObject();
        } catch (JsonParseException e) {
            throw new IOException(where + ": invalid JSON: " + e.getMessage(), e);
        }
        for (Map.Entry<String, JsonElement> k : o.entrySet()) {
            if (!KEYS.contains(k.getKey())) {
                throw new IOException(where + ": unknown key '" + k.getKey() + "', expected " + List.of("prompt",
                        "negative_prompt", "references", "own_references", "label"));
            }
        }
        String prompt = string(o, "prompt", where);
        if (prompt == null) {
            throw new IOException(where + ": missing \"prompt\"");
        }
        String negative = string(o, "negative_prompt", where);
        List<Path> refs = new ArrayList<>();
        JsonElement r = o.get("references");
        if (r != null && !r.isJsonNull()) {
            if (!r.isJsonArray()) {
                throw new IOException(where + ": \"references\" must be a list of image paths, got " + r);
            }
            JsonArray a = r.getAsJsonArray();
            for (JsonElement p : a) {
                if (!p.isJsonPrimitive() || !p.getAsJsonPrimitive().isString() || p.getAsString().isBlank()) {
                    throw new IOException(where + ": \"references\" entries must be non-empty path strings, got " + p);
                }
                refs.add(base.resolve(p.getAsString()).normalize());
            }
        }
        int own = refs.size();
        JsonElement n = o.get("own_references");
        if (n != null && !n.isJsonNull()) {
            if (!n.isJsonPrimitive() || !n.getAsJsonPrimitive().isNumber() || n.getAsDouble() != Math.rint(n.getAsDouble())
                    || n.getAsDouble() < 0 || n.getAsDouble() > refs.size()) {
                throw new IOException(where + ": \"own_references\" must be a whole number in [0, " + refs.size()
                        + "] (how many of the first \"references\" depict this prompt), got " + n);
            }
            own = n.getAsInt();
        }
        return new EvalPrompt(index, prompt, negative, refs, own, string(o, "label", where));
    }

    private static String string(JsonObject o, String key, String where) throws IOException {
        JsonElement e = o.get(key);
        if (e == null || e.isJsonNull()) {
            return null;
        }
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) {
            throw new IOException(where + ": \"" + key + "\" must be a string, got " + e);
        }
        return e.getAsString();
    }
}
