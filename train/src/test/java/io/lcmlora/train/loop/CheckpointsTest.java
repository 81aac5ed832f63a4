package io.lcmlora.train.loop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import io.lcmlora.io.AtomicFiles;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointsTest {
    private static Path save(Checkpoints cps, long step) throws IOException {
        Map<String, AtomicFiles.Body> files = new LinkedHashMap<>();
        files.put("lora.safetensors", os -> os.write(new byte[] {(byte) step, 1, 2, 3}));
        files.put("config.yaml", os -> os.write("seed: 1\n".getBytes(StandardCharsets.UTF_8)));
        JsonObject state = new JsonObject();
        state.addProperty("cursor", step * 10);
        return cps.saveFiles(step, files, state);
    }

    private static List<String> names(Path root) throws IOException {
        try (Stream<Path> s = Files.list(root)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void keepsTheLastNAndLoadsTheState(@TempDir Path root) throws IOException {
        Checkpoints cps = new Checkpoints(root, 2);
        assertTrue(cps.latest().isEmpty());
        assertTrue(cps.resume("latest").isEmpty());
        save(cps, 2);
        save(cps, 4);
        save(cps, 6);
        assertEquals(List.of("checkpoint-4", "checkpoint-6"), names(root));
        Checkpoint c = Checkpoints.load(cps.latest().orElseThrow());
        assertEquals(6, c.step());
        assertEquals(60, c.state().get("cursor").getAsLong());
        assertEquals("seed: 1\n", c.configYaml());
        assertEquals(4, cps.resume(root.resolve("checkpoint-4").toString()).orElseThrow().step());
        save(cps, 6); // saving the same step again replaces it
        assertEquals(List.of("checkpoint-4", "checkpoint-6"), names(root));
        Checkpoints all = new Checkpoints(root, 0);
        save(all, 8);
        save(all, 10);
        assertEquals(4, all.complete().size());
        assertThrows(IOException.class, () -> cps.resume(root.resolve("checkpoint-99").toString()));
    }

    @Test
    void crashLeftoversAreIgnoredAndThePreviousCheckpointStillLoads(@TempDir Path root) throws IOException {
        Checkpoints cps = new Checkpoints(root, 3);
        save(cps, 10);
        // A crash mid-write: a temp folder with a partial file and no state.json.
        Path tmp = Files.createDirectory(root.resolve(".checkpoint-12.tmp-999-1"));
        Files.write(tmp.resolve("lora.safetensors"), new byte[] {1, 2});
        // A crash on a file system without atomic rename: a final-named folder with a truncated file.
        Path torn = root.resolve("checkpoint-14");
        copyTree(root.resolve("checkpoint-10"), torn);
        Files.writeString(torn.resolve("state.json"),
                Files.readString(torn.resolve("state.json")).replace("\"step\": 10", "\"step\": 14"));
        try (RandomAccessFile f = new RandomAccessFile(torn.resolve("lora.safetensors").toFile(), "rw")) {
            f.setLength(2);
        }
        // A folder whose state.json was never written.
        Path noState = Files.createDirectory(root.resolve("checkpoint-16"));
        Files.write(noState.resolve("lora.safetensors"), new byte[] {1});
        // A folder whose state.json is cut short.
        Path halfState = root.resolve("checkpoint-18");
        copyTree(root.resolve("checkpoint-10"), halfState);
        String st = Files.readString(halfState.resolve("state.json"));
        Files.writeString(halfState.resolve("state.json"), st.substring(0, st.length() / 2));

        assertEquals(root.resolve("checkpoint-10"), cps.latest().orElseThrow());
        assertEquals(10, cps.resume("latest").orElseThrow().step());
        IOException e = assertThrows(IOException.class, () -> Checkpoints.load(torn));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());

        // Same size, flipped bytes: latest() (sizes only) accepts it, load() (CRC32C) does not.
        Path flipped = root.resolve("checkpoint-20");
        copyTree(root.resolve("checkpoint-10"), flipped);
        Files.writeString(flipped.resolve("state.json"),
                Files.readString(flipped.resolve("state.json")).replace("\"step\": 10", "\"step\": 20"));
        Files.write(flipped.resolve("lora.safetensors"), new byte[] {9, 9, 9, 9});
        e = assertThrows(IOException.class, () -> Checkpoints.load(flipped));
        assertTrue(e.getMessage().contains("CRC32C"), e.getMessage());

        cps.removeStale();
        assertFalse(Files.exists(tmp));
        save(cps, 22);
        assertTrue(Files.isDirectory(root.resolve("checkpoint-10")));
        assertEquals(22, Checkpoints.load(cps.latest().orElseThrow()).step());
    }

    @Test
    void killedAtAnyMomentResumesFromTheLastCompleteCheckpoint(@TempDir Path root) throws Exception {
        Rng rng = Rng.seeded(2024);
        int keepLast = 3;
        long lastSeen = 0;
        for (int round = 0; round < 4; round++) {
            ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xmx256m", "-cp", System.getProperty("java.class.path"), CheckpointCrashChild.class.getName(),
                    root.toString(), Integer.toString(keepLast));
            pb.redirectErrorStream(true);
            Process p = pb.start();
            AtomicLong printed = new AtomicLong(-1);
            List<String> output = new ArrayList<>();
            Thread reader = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = r.readLine()) != null; ) {
                        synchronized (output) {
                            output.add(line);
                        }
                        if (line.matches("\\d+")) {
                            printed.set(Long.parseLong(line));
                        }
                    }
                } catch (IOException ignored) {
                    // the process was killed
                }
            });
            reader.start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (printed.get() < 0 && System.nanoTime() < deadline && p.isAlive()) {
                Thread.sleep(5);
            }
            assertTrue(printed.get() > 0, "child wrote no checkpoint: " + output);
            Thread.sleep(20 + rng.nextInt(300));
            p.destroyForcibly(); // SIGKILL
            p.waitFor(10, TimeUnit.SECONDS);
            reader.join(5000);
            long reported = printed.get();
            assertTrue(reported > lastSeen, "round " + round + " resumed from " + lastSeen + " but reported " + reported);

            try (Stream<Path> s = Files.list(root)) {
                System.out.println("after kill " + round + ": " + s.map(q -> q.getFileName().toString()).sorted().toList());
            }
            Checkpoints cps = new Checkpoints(root, keepLast);
            List<Path> complete = cps.complete();
            assertTrue(complete.size() <= keepLast + 1, "kept " + complete);
            long latest = Checkpoints.stepOf(cps.latest().orElseThrow());
            // The last reported save is complete; at most one more finished its rename before the kill.
            assertTrue(latest == reported || latest == reported + 1, "latest " + latest + ", reported " + reported);
            for (Path dir : complete) {
                Checkpoint c = Checkpoints.load(dir); // every CRC matches
                byte[] payload = Files.readAllBytes(c.loraFile());
                assertEquals(CheckpointCrashChild.PAYLOAD, payload.length);
                assertEquals((byte) (c.step() % 251), payload[0]);
                assertEquals((byte) (c.step() % 251), payload[payload.length - 1]);
                assertEquals(c.step() % 251, c.state().get("payload_byte").getAsLong());
            }
            lastSeen = latest;
        }
    }

    private static void copyTree(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> s = Files.list(from)) {
            for (Path p : s.toList()) {
                Files.copy(p, to.resolve(p.getFileName()));
            }
        }
    }
}
