package io.lcmlora.train.loop;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.Optional;

/**
 * One run per {@code output_dir}: an exclusive OS file lock on {@code <output_dir>/.lcm-run.lock}, which also holds
 * the holder's PID, host and start time (JSON) so a refused run can name it. The OS releases the lock when the holder
 * dies, however it dies, so a stale lock file (left by {@code kill -9} or a power loss) is taken over with a message.
 * On the holder's own host a holder PID that still runs is refused even when the file system does not honour the
 * lock (some network file systems). {@link #close} empties the file and releases the lock; the file itself stays
 * (deleting it could let two later runs lock two different files under one name).
 */
public final class RunLock implements AutoCloseable {
    public static final String FILE = ".lcm-run.lock";
    private static final int MAX_BYTES = 4096;

    /** Who holds (or held) a lock. */
    public record Holder(long pid, String host, String started, String command) {
        String describe() {
            return "PID " + pid + " on host " + host + ", started " + started + " (" + command + ")";
        }

        static Optional<Holder> parse(String text) {
            try {
                JsonObject o = JsonParser.parseString(text).getAsJsonObject();
                return Optional.of(new Holder(o.get("pid").getAsLong(), o.get("host").getAsString(),
                        o.get("started").getAsString(), o.has("command") ? o.get("command").getAsString() : "?"));
            } catch (RuntimeException e) {
                return Optional.empty();
            }
        }
    }

    /** Another live run holds the folder. */
    public static final class LockedException extends IllegalStateException {
        private final transient Holder holder;

        LockedException(String message, Holder holder) {
            super(message);
            this.holder = holder;
        }

        /** The holder, when its lock file could be read. */
        public Optional<Holder> holder() {
            return Optional.ofNullable(holder);
        }
    }

    private final Path file;
    private final FileChannel channel;
    private final FileLock lock;

    private RunLock(Path file, FileChannel channel, FileLock lock) {
        this.file = file;
        this.channel = channel;
        this.lock = lock;
    }

    /**
     * Locks {@code dir} (created if missing) for {@code command}, or fails naming the live holder. A stale lock of a
     * process that is gone is taken over and reported on {@code out}.
     *
     * @throws LockedException when another live run holds the folder
     */
    public static RunLock acquire(Path dir, String command, PrintStream out) throws IOException {
        Files.createDirectories(dir);
        Path file = dir.resolve(FILE);
        if (Files.exists(file) && !Files.isRegularFile(file)) {
            throw new IOException(file + ": the run lock must be a regular file; remove it");
        }
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        boolean ok = false;
        try {
            FileLock lock;
            try {
                lock = ch.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null; // this JVM holds it already (a second run in the same process)
            }
            Optional<Holder> previous = read(ch);
            if (lock == null) {
                throw locked(dir, file, previous);
            }
            if (previous.isPresent()) {
                Holder h = previous.get();
                if (h.pid() != ProcessHandle.current().pid() && h.host().equals(hostName())
                        && ProcessHandle.of(h.pid()).map(ProcessHandle::isAlive).orElse(false)) {
                    lock.release();
                    throw locked(dir, file, previous);
                }
                out.println("output_dir " + dir + ": taking over the stale run lock of " + h.describe()
                        + ", which is no longer running");
            }
            Holder me = new Holder(ProcessHandle.current().pid(), hostName(), Instant.now().toString(), command);
            JsonObject o = new JsonObject();
            o.addProperty("pid", me.pid());
            o.addProperty("host", me.host());
            o.addProperty("started", me.started());
            o.addProperty("command", me.command());
            ch.truncate(0);
            ch.write(ByteBuffer.wrap((o + "\n").getBytes(StandardCharsets.UTF_8)), 0);
            ch.force(true);
            ok = true;
            return new RunLock(file, ch, lock);
        } finally {
            if (!ok) {
                ch.close();
            }
        }
    }

    private static LockedException locked(Path dir, Path file, Optional<Holder> holder) {
        String who = holder.map(Holder::describe).orElse("another process (its lock file " + file + " is unreadable)");
        return new LockedException("output_dir " + dir + " is in use by " + who + ". Two runs on one folder would delete "
                + "each other's checkpoints: wait for it to finish, stop it, or set another output_dir (lock file "
                + file + ")", holder.orElse(null));
    }

    private static Optional<Holder> read(FileChannel ch) throws IOException {
        long size = ch.size();
        if (size == 0 || size > MAX_BYTES) {
            return Optional.empty();
        }
        ByteBuffer b = ByteBuffer.allocate((int) size);
        while (b.hasRemaining() && ch.read(b, b.position()) > 0) {
            // read the whole (small) file
        }
        return Holder.parse(new String(b.array(), 0, b.position(), StandardCharsets.UTF_8));
    }

    static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            String h = System.getenv("HOSTNAME");
            return h != null && !h.isBlank() ? h : "unknown-host";
        }
    }

    public Path file() {
        return file;
    }

    /** Empties the lock file (a clean end leaves no holder to report) and releases the lock. */
    @Override
    public void close() throws IOException {
        try {
            if (channel.isOpen()) {
                channel.truncate(0);
                channel.force(true);
            }
        } finally {
            try {
                if (lock.isValid()) {
                    lock.release();
                }
            } finally {
                channel.close();
            }
        }
    }
}
