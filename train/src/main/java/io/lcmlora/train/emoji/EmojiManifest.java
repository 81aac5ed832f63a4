package io.lcmlora.train.emoji;

import com.google.gson.Gson;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The emoji image sets as their consumers see them: the style names and the manifest reader. It sits below both
 * {@code demo} (which builds the sets and runs the demo) and {@code pretrain} (which trains on them), so neither of
 * those packages imports the other for it.
 */
public final class EmojiManifest {
    private EmojiManifest() {}

    /** Image sets the demo uses, by style name: the base teacher's and the fine-tune's. */
    public static final List<String> STYLES = List.of("twitter", "google");
    private static final Gson GSON = new Gson();

    /** Reads a manifest's lines as JSON objects, skipping blank lines; a bad line names the file and line. */
    public static List<JsonObject> readManifest(Path manifest) throws IOException {
        List<JsonObject> rows = new ArrayList<>();
        int n = 0;
        for (String l : Files.readAllLines(manifest, StandardCharsets.UTF_8)) {
            n++;
            if (l.isBlank()) {
                continue;
            }
            try {
                rows.add(GSON.fromJson(l, JsonObject.class));
            } catch (RuntimeException ex) {
                throw new IOException(manifest + ":" + n + ": not a JSON object: " + ex.getMessage());
            }
        }
        return rows;
    }
}
