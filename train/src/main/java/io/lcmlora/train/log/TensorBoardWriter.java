package io.lcmlora.train.log;

import io.lcmlora.io.AtomicFiles;
import io.lcmlora.pipeline.PngImages;
import java.awt.image.BufferedImage;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;
import org.tensorflow.proto.Event;
import org.tensorflow.proto.Summary;

/**
 * Writes a TensorBoard event file {@code events.out.tfevents.<unix seconds>.<host>[.<run>]} (the {@code org.tensorflow.proto}
 * Event/Summary messages of tensorflow-core-native, no native code). Each record is TFRecord-framed: u64 length,
 * masked CRC32C of the length, the serialized Event, masked CRC32C of the data (all little-endian). Records are
 * only ever appended, each in one write, so a crash can at worst cut the last record, which TensorBoard skips;
 * earlier records are never touched while a run writes. Each writer opens a new file (TensorBoard merges the files of
 * a folder); a resumed run first removes, from its own older files, the events of the steps it will log again
 * ({@link #openResumed}), so no step shows twice.
 */
public final class TensorBoardWriter implements AutoCloseable {
    private final Path file;
    private final FileOutputStream out;

    private TensorBoardWriter(Path file) throws IOException {
        this.file = file;
        this.out = new FileOutputStream(file.toFile(), true);
        write(Event.newBuilder().setWallTime(now()).setFileVersion("brain.Event:2").build());
        flush();
    }

    /** Opens a new event file in {@code dir} (created if needed). */
    public static TensorBoardWriter open(Path dir) throws IOException {
        return create(dir, "");
    }

    /**
     * Opens a new event file of run {@code run} in {@code dir}: {@code events.out.tfevents.<unix seconds>.<host>.<run>}
     * (the file-name suffix TensorFlow's writers also use), so several runs sharing one {@code logging.dir} can tell
     * their own files apart.
     *
     * @param run letters, digits, '-' and '_' only
     */
    public static TensorBoardWriter open(Path dir, String run) throws IOException {
        return create(dir, "." + requireRun(run));
    }

    private static TensorBoardWriter create(Path dir, String suffix) throws IOException {
        Files.createDirectories(dir);
        String base = "events.out.tfevents." + System.currentTimeMillis() / 1000 + "." + host() + suffix;
        Path f = dir.resolve(base);
        for (int i = 1; Files.exists(f); i++) {
            f = dir.resolve(base + "." + i);
        }
        return new TensorBoardWriter(f);
    }

    /**
     * Opens a new event file of run {@code run} in {@code dir} for that run resumed at {@code step}: events after
     * that step in the run's own older event files (logged before a crash, and about to be logged again) are removed
     * from them first, each file rewritten atomically; a record cut by the crash is dropped with them. Event files of
     * other runs in the folder (a shared {@code logging.dir}) are left as they are.
     */
    public static TensorBoardWriter openResumed(Path dir, long step, String run) throws IOException {
        if (Files.isDirectory(dir)) {
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "events.out.tfevents.*")) {
                for (Path f : ds) {
                    if (isOfRun(f.getFileName().toString(), requireRun(run)) && Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)) {
                        dropAfter(f, step);
                    }
                }
            }
        }
        return open(dir, run);
    }

    /** {@code events.out.tfevents.<seconds>.<host>.<run>}, or with the {@code .<i>} of a name already taken. */
    static boolean isOfRun(String name, String run) {
        String tail = "." + run;
        return name.endsWith(tail) || name.matches(".*" + java.util.regex.Pattern.quote(tail) + "\\.\\d+");
    }

    private static String requireRun(String run) {
        if (run == null || !run.matches("[A-Za-z0-9_-]+")) {
            throw new IllegalArgumentException("TensorBoard run name must be letters, digits, '-' or '_', got '" + run + "'");
        }
        return run;
    }

    /** Rewrites {@code f} without its events after {@code step} (and without a cut last record); returns how many went. */
    static int dropAfter(Path f, long step) throws IOException {
        List<byte[]> keep = new ArrayList<>();
        int dropped = 0;
        long size = Files.size(f);
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(f)))) {
            long pos = 0;
            byte[] head = new byte[12];
            while (pos + 12 <= size) {
                in.readFully(head);
                long len = ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
                if (len < 0 || len > size - pos - 16 || len > MAX_RECORD) {
                    dropped++; // a record cut by a crash (or garbage): nothing after it can be framed
                    break;
                }
                byte[] rec = new byte[(int) (12 + len + 4)];
                System.arraycopy(head, 0, rec, 0, 12);
                in.readFully(rec, 12, (int) len + 4);
                pos += rec.length;
                Event e;
                try {
                    e = Event.parseFrom(java.util.Arrays.copyOfRange(rec, 12, 12 + (int) len));
                } catch (com.google.protobuf.InvalidProtocolBufferException ex) {
                    dropped++;
                    break;
                }
                if (e.getStep() > step) {
                    dropped++;
                } else {
                    keep.add(rec);
                }
            }
            if (pos < size && dropped == 0) {
                dropped++; // trailing bytes shorter than a record header
            }
        }
        if (dropped > 0) {
            AtomicFiles.write(f, os -> {
                for (byte[] r : keep) {
                    os.write(r);
                }
            });
        }
        return dropped;
    }

    /** The largest record read back when trimming (a validation image grid is a few MB). */
    private static final long MAX_RECORD = 1L << 30;

    public Path file() {
        return file;
    }

    public void scalar(String tag, long step, double value) {
        scalars(step, Map.of(tag, value));
    }

    /** Several scalars of one step in one event (iteration order kept). */
    public void scalars(long step, Map<String, Double> values) {
        Summary.Builder s = Summary.newBuilder();
        for (var e : values.entrySet()) {
            s.addValue(Summary.Value.newBuilder().setTag(e.getKey()).setSimpleValue(e.getValue().floatValue()));
        }
        write(Event.newBuilder().setWallTime(now()).setStep(step).setSummary(s).build());
    }

    /** An image summary (PNG-encoded here): shows under the Images tab. */
    public void image(String tag, long step, BufferedImage image) {
        byte[] png = PngImages.encode(image); // 8-bit RGB, in memory
        Summary.Image img = Summary.Image.newBuilder().setHeight(image.getHeight()).setWidth(image.getWidth())
                .setColorspace(3).setEncodedImageString(com.google.protobuf.ByteString.copyFrom(png))
                .build();
        Summary s = Summary.newBuilder().addValue(Summary.Value.newBuilder().setTag(tag).setImage(img)).build();
        write(Event.newBuilder().setWallTime(now()).setStep(step).setSummary(s).build());
    }

    /** Pushes written records to the operating system. */
    public synchronized void flush() {
        try {
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + AtomicFiles.reason(e), e);
        }
    }

    @Override
    public synchronized void close() {
        try {
            out.getFD().sync();
            out.close();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + AtomicFiles.reason(e), e);
        }
    }

    private synchronized void write(Event e) {
        byte[] data = e.toByteArray();
        ByteBuffer rec = ByteBuffer.allocate(12 + data.length + 4).order(ByteOrder.LITTLE_ENDIAN);
        rec.putLong(data.length);
        rec.putInt(maskedCrc32c(rec.array(), 0, 8));
        rec.put(data);
        rec.putInt(maskedCrc32c(data, 0, data.length));
        try {
            out.write(rec.array()); // one write per record: a crash never splits an earlier record
        } catch (IOException ex) {
            throw new UncheckedIOException("cannot write " + file + ": " + AtomicFiles.reason(ex), ex);
        }
    }

    /** TFRecord's masked CRC32C: rotate right by 15, add 0xa282ead8. */
    static int maskedCrc32c(byte[] b, int off, int len) {
        CRC32C c = new CRC32C();
        c.update(b, off, len);
        int crc = (int) c.getValue();
        return ((crc >>> 15) | (crc << 17)) + 0xa282ead8;
    }

    private static double now() {
        return System.currentTimeMillis() / 1000.0;
    }

    private static String host() {
        String h;
        try {
            h = InetAddress.getLocalHost().getHostName();
        } catch (IOException | SecurityException e) {
            h = "localhost";
        }
        return h.replaceAll("[^A-Za-z0-9._-]", "_");
    }
}
