package io.lcmlora.train.log;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.zip.CRC32C;
import javax.imageio.ImageIO;
import org.tensorflow.proto.Event;
import org.tensorflow.proto.Summary;

/**
 * Writes a TensorBoard event file {@code events.out.tfevents.<unix seconds>.<host>} (the {@code org.tensorflow.proto}
 * Event/Summary messages of tensorflow-core-native, no native code). Each record is TFRecord-framed: u64 length,
 * masked CRC32C of the length, the serialized Event, masked CRC32C of the data (all little-endian). Records are
 * only ever appended, each in one write, so a crash can at worst cut the last record, which TensorBoard skips;
 * earlier records are never touched. Each writer opens a new file (TensorBoard merges the files of a folder), so a
 * resumed run never rewrites the old one.
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
        Files.createDirectories(dir);
        String base = "events.out.tfevents." + System.currentTimeMillis() / 1000 + "." + host();
        Path f = dir.resolve(base);
        for (int i = 1; Files.exists(f); i++) {
            f = dir.resolve(base + "." + i);
        }
        return new TensorBoardWriter(f);
    }

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
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        try {
            if (!ImageIO.write(image, "png", png)) {
                throw new IOException("no PNG writer for image type " + image.getType());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("image summary '" + tag + "'", e);
        }
        int channels = image.getColorModel().getNumComponents();
        Summary.Image img = Summary.Image.newBuilder().setHeight(image.getHeight()).setWidth(image.getWidth())
                .setColorspace(channels).setEncodedImageString(com.google.protobuf.ByteString.copyFrom(png.toByteArray()))
                .build();
        Summary s = Summary.newBuilder().addValue(Summary.Value.newBuilder().setTag(tag).setImage(img)).build();
        write(Event.newBuilder().setWallTime(now()).setStep(step).setSummary(s).build());
    }

    /** Pushes written records to the operating system. */
    public synchronized void flush() {
        try {
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(file.toString(), e);
        }
    }

    @Override
    public synchronized void close() {
        try {
            out.getFD().sync();
            out.close();
        } catch (IOException e) {
            throw new UncheckedIOException(file.toString(), e);
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
            throw new UncheckedIOException(file.toString(), ex);
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
