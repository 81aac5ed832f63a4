package io.lcmlora.train.data;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * Reads of files whose paths come from data (manifest lines, caption files, images in a folder). A data set is
 * untrusted: a path may name {@code /dev/zero}, a FIFO that never ends or blocks on open, a folder, or a file far too
 * large. So only regular files are opened, their size is checked against a cap before anything is allocated, and
 * at most {@code cap + 1} bytes are ever read (a file that grows while being read is still refused). Text is strict
 * UTF-8. Every refusal is a {@link SkipException}, counted under its reason.
 */
public final class DataFiles {
    /** Largest encoded image read (the decoder refuses more than {@link ImageDecoder#MAX_PIXELS} anyway). */
    public static final long MAX_IMAGE_BYTES = 256L << 20;
    /** Largest caption (a {@code .txt} file, a tar {@code .txt}/{@code .json} member, a manifest line). */
    public static final int MAX_TEXT_BYTES = 1 << 20;

    private DataFiles() {}

    /** The bytes of {@code path}, a regular file of at most {@code cap} bytes; {@code id} names it in the skip. */
    public static byte[] read(Path path, long cap, String id) throws IOException {
        checkRegular(path, cap, id);
        try (InputStream in = Files.newInputStream(path)) {
            byte[] b = in.readNBytes((int) Math.min(cap + 1, Integer.MAX_VALUE - 16));
            if (b.length > cap) {
                throw new SkipException("file too large", id + " (" + path + " grew past " + cap + " bytes while read)");
            }
            return b;
        }
    }

    /** Refuses (as a skip) anything but a regular file of at most {@code cap} bytes, before it is opened. */
    public static void checkRegular(Path path, long cap, String id) throws IOException {
        BasicFileAttributes a = Files.readAttributes(path, BasicFileAttributes.class); // follows links
        if (!a.isRegularFile()) {
            throw new SkipException("not a regular file", id + " (" + path + " is " + kind(a)
                    + "; only regular files are read)");
        }
        if (a.size() > cap) {
            throw new SkipException("file too large", id + " (" + path + " is " + a.size() + " bytes, at most " + cap
                    + " accepted)");
        }
    }

    /** Strict UTF-8 (a byte-order mark is dropped); malformed input is a {@code bad text encoding} skip. */
    public static String utf8(byte[] bytes, String id) throws SkipException {
        int off = bytes.length >= 3 && (bytes[0] & 0xFF) == 0xEF && (bytes[1] & 0xFF) == 0xBB && (bytes[2] & 0xFF) == 0xBF ? 3 : 0;
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes, off, bytes.length - off)).toString();
        } catch (CharacterCodingException e) {
            throw new SkipException("bad text encoding", id + " (not UTF-8)");
        }
    }

    private static String kind(BasicFileAttributes a) {
        if (a.isDirectory()) {
            return "a folder";
        }
        if (a.isOther()) {
            return "a device, pipe or socket";
        }
        return "not a regular file";
    }
}
