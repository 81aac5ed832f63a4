package io.lcmlora.train.loop;

import ai.djl.ndarray.NDArray;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import io.lcmlora.io.FileTrees;
import io.lcmlora.io.AtomicFiles;
import io.lcmlora.io.SafeTensorsWriter;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32C;

/**
 * Training checkpoints under one root: {@code checkpoint-<step>/} holding
 * <pre>
 *   lora.safetensors       LoRA weights (fp32 masters, the run's own parameter names)
 *   optimizer.safetensors  AdamW moments (&lt;name&gt;.exp_avg, &lt;name&gt;.exp_avg_sq) and step
 *   rng.json               state of every named {@link Rng} stream
 *   config.yaml            the resolved config of the run
 *   state.json             step, loop state, and the size + CRC32C of every file above (written last)
 * </pre>
 * Crash safety: everything is written (and fsynced) into a hidden temp folder {@code .checkpoint-<step>.tmp-*}, which
 * is then renamed to its final name in one atomic step; older checkpoints are deleted (keep-last-N) only after that,
 * by renaming them to a hidden trash name first. So a process killed at any moment leaves every
 * {@code checkpoint-<step>} folder complete, and {@link #latest()} ignores temp and trash folders and any folder
 * whose files do not match its state.json. One writer per root is assumed.
 */
public final class Checkpoints {
    public static final String LORA = "lora.safetensors";
    public static final String OPTIMIZER = "optimizer.safetensors";
    public static final String RNG = "rng.json";
    public static final String CONFIG = "config.yaml";
    public static final String STATE = "state.json";
    static final String FORMAT = "lcm-lora-java checkpoint";
    private static final Pattern NAME = Pattern.compile("checkpoint-(\\d{1,18})");
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();

    private final Path root;
    private final int keepLast;

    /** {@code keepLast} 0 keeps every checkpoint. */
    public Checkpoints(Path root, int keepLast) {
        if (keepLast < 0) {
            throw new IllegalArgumentException("keepLast must be >= 0, got " + keepLast);
        }
        this.root = root;
        this.keepLast = keepLast;
    }

    public Path root() {
        return root;
    }

    /** What a checkpoint holds. {@code state} is the loop's own JSON (data position, epoch, ...), may be empty. */
    public record Snapshot(long step, Map<String, NDArray> lora, AdamW optimizer, Map<String, Rng> rngs,
            String configYaml, JsonObject state) {}

    /** Writes a checkpoint for {@code s.step()}, then deletes the oldest beyond keep-last-N. Returns its folder. */
    public Path save(Snapshot s) throws IOException {
        // fewer optimizer steps than training steps: fp16 updates skipped on an overflow do not step AdamW
        if (s.optimizer() != null && s.optimizer().steps() > s.step()) {
            throw new IllegalArgumentException("snapshot step " + s.step() + " < optimizer step " + s.optimizer().steps());
        }
        Map<String, AtomicFiles.Body> files = new LinkedHashMap<>();
        SafeTensorsWriter lora = new SafeTensorsWriter().metadata("step", Long.toString(s.step()));
        for (var e : new TreeMap<>(s.lora()).entrySet()) {
            lora.add(e.getKey(), e.getValue());
        }
        files.put(LORA, lora::write);
        if (s.optimizer() != null) {
            files.put(OPTIMIZER, s.optimizer().stateWriter()::write);
        }
        JsonObject rng = new JsonObject();
        for (var e : new TreeMap<>(s.rngs()).entrySet()) {
            rng.addProperty(e.getKey(), e.getValue().state());
        }
        files.put(RNG, os -> os.write(GSON.toJson(rng).getBytes(StandardCharsets.UTF_8)));
        files.put(CONFIG, os -> os.write(s.configYaml().getBytes(StandardCharsets.UTF_8)));
        return saveFiles(s.step(), files, s.state() == null ? new JsonObject() : s.state());
    }

    /** Writes a checkpoint from raw file bodies (the layout's files, or others), then prunes. */
    public Path saveFiles(long step, Map<String, AtomicFiles.Body> files, JsonObject state) throws IOException {
        if (step < 0) {
            throw new IllegalArgumentException("step must be >= 0, got " + step);
        }
        Files.createDirectories(root);
        Path tmp = root.resolve(".checkpoint-" + step + ".tmp-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
        Files.createDirectory(tmp);
        try {
            JsonObject manifest = new JsonObject();
            for (var e : files.entrySet()) {
                if (e.getKey().equals(STATE) || e.getKey().contains("/") || e.getKey().startsWith(".")) {
                    throw new IllegalArgumentException("bad checkpoint file name '" + e.getKey() + "'");
                }
                Path f = tmp.resolve(e.getKey());
                AtomicFiles.write(f, e.getValue());
                JsonObject info = new JsonObject();
                info.addProperty("bytes", Files.size(f));
                info.addProperty("crc32c", crc32c(f));
                manifest.add(e.getKey(), info);
            }
            JsonObject doc = new JsonObject();
            doc.addProperty("format", FORMAT);
            doc.addProperty("version", 1);
            doc.addProperty("step", step);
            doc.addProperty("created", Instant.now().toString());
            doc.add("files", manifest);
            doc.add("state", state);
            AtomicFiles.writeString(tmp.resolve(STATE), GSON.toJson(doc));
            fsyncDir(tmp);
            Path target = root.resolve("checkpoint-" + step);
            if (Files.exists(target)) {
                moveAside(target);
            }
            move(tmp, target);
            fsyncDir(root);
            prune(step);
            return target;
        } finally {
            if (Files.exists(tmp)) {
                FileTrees.deleteTree(tmp);
            }
        }
    }

    /** Complete checkpoints, oldest first (a folder counts when its state.json parses and every file's size matches). */
    public List<Path> complete() throws IOException {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(root)) {
            return out;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(root)) {
            for (Path p : ds) {
                if (stepOf(p) >= 0 && isComplete(p, false)) {
                    out.add(p);
                }
            }
        }
        out.sort(Comparator.comparingLong(Checkpoints::stepOf));
        return out;
    }

    /** The newest complete checkpoint. */
    public Optional<Path> latest() throws IOException {
        List<Path> all = complete();
        return all.isEmpty() ? Optional.empty() : Optional.of(all.get(all.size() - 1));
    }

    /**
     * {@code --resume}: {@code latest} gives the newest complete checkpoint (empty when there is none: a fresh
     * start); anything else is a checkpoint folder, which must be complete.
     */
    public Optional<Checkpoint> resume(String spec) throws IOException {
        if (spec == null) {
            return Optional.empty();
        }
        if (spec.equals("latest")) {
            Optional<Path> p = latest();
            return p.isEmpty() ? Optional.empty() : Optional.of(load(p.get()));
        }
        return Optional.of(load(Path.of(spec)));
    }

    /** Reads and verifies a checkpoint (sizes and CRC32C of every file). */
    public static Checkpoint load(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new NoSuchFileException(dir + " (not a checkpoint folder)");
        }
        JsonObject doc = readState(dir);
        verify(dir, doc, true);
        long step = doc.get("step").getAsLong();
        Map<String, Rng> rngs = new LinkedHashMap<>();
        JsonObject files = doc.getAsJsonObject("files");
        if (files.has(RNG)) {
            JsonObject r = parse(dir.resolve(RNG));
            for (var e : r.entrySet()) {
                rngs.put(e.getKey(), Rng.fromState(e.getValue().getAsString()));
            }
        }
        String config = files.has(CONFIG) ? Files.readString(dir.resolve(CONFIG), StandardCharsets.UTF_8) : "";
        JsonObject state = doc.has("state") && doc.get("state").isJsonObject() ? doc.getAsJsonObject("state") : new JsonObject();
        return new Checkpoint(dir, step, rngs, config, state);
    }

    static long stepOf(Path p) {
        Matcher m = NAME.matcher(p.getFileName().toString());
        return m.matches() && Files.isDirectory(p) ? Long.parseLong(m.group(1)) : -1;
    }

    private static boolean isComplete(Path dir, boolean checksums) {
        try {
            JsonObject doc = readState(dir);
            verify(dir, doc, checksums);
            return doc.get("step").getAsLong() == stepOf(dir);
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private static JsonObject readState(Path dir) throws IOException {
        JsonObject doc = parse(dir.resolve(STATE));
        if (!doc.has("format") || !FORMAT.equals(doc.get("format").getAsString()) || !doc.has("step")
                || !doc.has("files") || !doc.get("files").isJsonObject()) {
            throw new IOException(dir.resolve(STATE) + ": not a " + FORMAT + " state file");
        }
        return doc;
    }

    private static void verify(Path dir, JsonObject doc, boolean checksums) throws IOException {
        for (Map.Entry<String, JsonElement> e : doc.getAsJsonObject("files").entrySet()) {
            Path f = dir.resolve(e.getKey());
            JsonObject info = e.getValue().getAsJsonObject();
            if (!f.normalize().getParent().equals(dir.normalize())) {
                throw new IOException(dir.resolve(STATE) + ": file name '" + e.getKey() + "' leaves the folder");
            }
            if (!Files.isRegularFile(f)) {
                throw new IOException(f + ": missing (incomplete checkpoint)");
            }
            long size = Files.size(f);
            if (size != info.get("bytes").getAsLong()) {
                throw new IOException(f + ": " + size + " bytes, state.json says " + info.get("bytes").getAsLong()
                        + " (truncated or replaced)");
            }
            if (checksums && !crc32c(f).equals(info.get("crc32c").getAsString())) {
                throw new IOException(f + ": CRC32C mismatch (corrupt file)");
            }
        }
    }

    private static JsonObject parse(Path f) throws IOException {
        try {
            JsonElement el = JsonParser.parseString(Files.readString(f, StandardCharsets.UTF_8));
            if (!el.isJsonObject()) {
                throw new IOException(f + ": expected a JSON object");
            }
            return el.getAsJsonObject();
        } catch (JsonParseException | IllegalStateException e) {
            throw new IOException(f + ": invalid JSON (" + e.getMessage() + ")", e);
        }
    }

    static String crc32c(Path f) throws IOException {
        CRC32C crc = new CRC32C();
        byte[] buf = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(f)) {
            for (int n; (n = in.read(buf)) > 0; ) {
                crc.update(buf, 0, n);
            }
        }
        return HexFormat.of().toHexDigits((int) crc.getValue());
    }

    /** Deletes complete checkpoints older than the newest {@code keepLast}, never the one just written. */
    private void prune(long justWritten) throws IOException {
        if (keepLast == 0) {
            return;
        }
        List<Path> all = complete();
        for (int i = 0; i < all.size() - keepLast; i++) {
            if (stepOf(all.get(i)) != justWritten) {
                moveAside(all.get(i));
            }
        }
        removeStale();
    }

    /** Removes temp folders of interrupted saves and trash of interrupted deletions. */
    public void removeStale() throws IOException {
        if (!Files.isDirectory(root)) {
            return;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(root)) {
            for (Path p : ds) {
                String n = p.getFileName().toString();
                if (n.startsWith(".checkpoint-") && n.contains(".tmp-") || n.startsWith(".trash-checkpoint-")) {
                    FileTrees.deleteTree(p);
                }
            }
        }
    }

    private void moveAside(Path dir) throws IOException {
        Path trash = root.resolve(".trash-" + dir.getFileName() + "-" + System.nanoTime());
        move(dir, trash);
        fsyncDir(root);
        FileTrees.deleteTree(trash);
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("the file system of " + from.getParent() + " cannot rename atomically; "
                    + "checkpoints need an atomic rename", e);
        }
    }

    private static void fsyncDir(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            // Some file systems cannot open or sync a directory; the rename is still atomic there.
        }
    }
}
