package io.lcmlora.io;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes files through a temp file in the same folder ({@code .<name>.<random>.tmp}), fsync, then an atomic
 * rename over the target. If the body throws, the temp file is deleted and an existing target is left as it
 * was. The temp file is created with the process's default permissions (not the owner-only mode of
 * {@link Files#createTempFile}), so the final file is as readable as any other file the user writes.
 */
public final class AtomicFiles {
    private AtomicFiles() {}

    /** The body that produces a file's bytes. */
    @FunctionalInterface
    public interface Body {
        void writeTo(OutputStream os) throws IOException;
    }

    public static void write(Path target, Body body) throws IOException {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        if (Files.isDirectory(abs)) {
            throw new IOException("cannot write " + abs + ": it is a folder");
        }
        Path tmp;
        try {
            Files.createDirectories(dir);
            tmp = createTemp(dir, abs.getFileName().toString());
        } catch (IOException e) {
            throw failed(abs, e);
        }
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE);
                    OutputStream os = new BufferedOutputStream(Channels.newOutputStream(ch), 1 << 20)) {
                body.writeTo(os);
                os.flush();
                ch.force(true);
            }
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
            syncDirectory(dir);
        } catch (IOException e) {
            throw failed(abs, e);
        } finally {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException e) {
                // the temp file of a failed write is removed by deleteStaleTemps on the next start
            }
        }
    }

    /**
     * An I/O failure while writing {@code target}, naming it and the reason ("No space left on device"), without
     * exception class names; a failure that already names the target is passed on unchanged.
     */
    private static IOException failed(Path target, IOException e) {
        String reason = reason(e);
        if (reason.startsWith(target.toString())) {
            return e;
        }
        return new IOException("cannot write " + target + ": " + reason, e);
    }

    /** The reason of an I/O error in words: a file system error's reason, else its message, else its kind. */
    public static String reason(IOException e) {
        if (e instanceof java.nio.file.FileSystemException fs && fs.getReason() != null) {
            return fs.getReason();
        }
        if (e instanceof java.nio.file.NoSuchFileException) {
            return "no such file or folder";
        }
        if (e instanceof java.nio.file.AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof FileAlreadyExistsException) {
            return "a file of that name is in the way";
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    /**
     * Deletes the temp files ({@code .<name>.<random>.tmp}) that writes interrupted by a crash left in {@code dir}
     * (not recursive); call it only while no other process writes there. Returns how many were deleted.
     */
    public static int deleteStaleTemps(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        int n = 0;
        try (java.nio.file.DirectoryStream<Path> ds = Files.newDirectoryStream(dir, ".*.tmp")) {
            for (Path p : ds) {
                if (TEMP.matcher(p.getFileName().toString()).matches() && Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    Files.deleteIfExists(p);
                    n++;
                }
            }
        }
        return n;
    }

    private static final java.util.regex.Pattern TEMP = java.util.regex.Pattern.compile("\\..+\\.[0-9a-z]{1,13}\\.tmp");

    private static Path createTemp(Path dir, String name) throws IOException {
        for (int attempt = 0; ; attempt++) {
            Path tmp = dir.resolve("." + name + "." + Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36) + ".tmp");
            try {
                return Files.createFile(tmp);
            } catch (FileAlreadyExistsException e) {
                if (attempt >= 16) {
                    throw e;
                }
            }
        }
    }

    /** Makes the rename durable where the platform allows opening a directory (Linux, macOS); a no-op elsewhere. */
    private static void syncDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // directories cannot be opened or synced on this platform; the rename itself is still atomic
        }
    }

    public static void writeString(Path target, String text) throws IOException {
        write(target, os -> os.write(text.getBytes(StandardCharsets.UTF_8)));
    }

    public static void writeBytes(Path target, byte[] bytes) throws IOException {
        write(target, os -> os.write(bytes));
    }
}
