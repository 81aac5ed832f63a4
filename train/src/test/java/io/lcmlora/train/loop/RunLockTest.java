package io.lcmlora.train.loop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Two runs on one output_dir: the second is refused naming the holder; a dead holder's lock is taken over. */
class RunLockTest {
    @Test
    void secondLockInTheSameProcessIsRefusedAndACleanCloseLeavesNoHolder(@TempDir Path tmp) throws Exception {
        ByteArrayOutputStream msgs = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(msgs, true, StandardCharsets.UTF_8);
        try (RunLock first = RunLock.acquire(tmp, "first", out)) {
            RunLock.LockedException e = assertThrows(RunLock.LockedException.class, () -> RunLock.acquire(tmp, "second", out));
            RunLock.Holder h = e.holder().orElseThrow();
            assertEquals(ProcessHandle.current().pid(), h.pid());
            assertEquals("first", h.command());
            assertEquals(RunLock.hostName(), h.host());
            Instant started = Instant.parse(h.started());
            assertTrue(!started.isAfter(Instant.now()), started.toString());
            assertTrue(e.getMessage().contains("PID " + h.pid()) && e.getMessage().contains(h.host())
                    && e.getMessage().contains(h.started()) && e.getMessage().contains(tmp.toString()), e.getMessage());
        }
        assertEquals(0, Files.size(tmp.resolve(RunLock.FILE)), "a clean close empties the lock file");
        try (RunLock again = RunLock.acquire(tmp, "third", out)) {
            assertEquals(tmp.resolve(RunLock.FILE), again.file());
        }
        assertEquals("", msgs.toString(StandardCharsets.UTF_8), "no stale-lock message after a clean close");
    }

    @Test
    void aLiveRunInAnotherProcessIsNamedAndItsLockIsTakenOverOnceItIsKilled(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("run");
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx64m", "-cp", System.getProperty("java.class.path"), RunLockChild.class.getName(), dir.toString());
        pb.redirectErrorStream(true);
        Process child = pb.start();
        try {
            BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
            String line = r.readLine();
            assertTrue(line != null && line.startsWith("locked"), "child said " + line);
            ByteArrayOutputStream msgs = new ByteArrayOutputStream();
            PrintStream out = new PrintStream(msgs, true, StandardCharsets.UTF_8);
            RunLock.LockedException e = assertThrows(RunLock.LockedException.class, () -> RunLock.acquire(dir, "distill", out));
            assertEquals(child.pid(), e.holder().orElseThrow().pid());
            assertTrue(e.getMessage().contains("PID " + child.pid()) && e.getMessage().contains("RunLockChild"), e.getMessage());

            child.destroyForcibly(); // kill -9: the lock file keeps the dead holder's record
            assertTrue(child.waitFor(30, TimeUnit.SECONDS));
            try (RunLock taken = RunLock.acquire(dir, "distill", out)) {
                String said = msgs.toString(StandardCharsets.UTF_8);
                assertTrue(said.contains("taking over the stale run lock of PID " + child.pid()), said);
                assertTrue(Files.readString(taken.file()).contains("\"pid\":" + ProcessHandle.current().pid()));
            }
        } finally {
            child.destroyForcibly();
            child.waitFor(30, TimeUnit.SECONDS);
        }
    }
}
