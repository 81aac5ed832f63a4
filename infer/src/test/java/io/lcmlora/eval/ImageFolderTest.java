package io.lcmlora.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Image bombs are refused from the header, before their pixels are allocated; ordinary images decode. */
class ImageFolderTest {
    /** A PNG signature, an IHDR claiming w x h (8-bit RGB) and IEND: no pixel data at all. */
    static byte[] pngHeader(int w, int h) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'});
        chunk(out, "IHDR", ByteBuffer.allocate(13).putInt(w).putInt(h).put((byte) 8).put((byte) 2).array());
        chunk(out, "IEND", new byte[0]);
        return out.toByteArray();
    }

    static void chunk(ByteArrayOutputStream out, String type, byte[] data) {
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        out.writeBytes(ByteBuffer.allocate(4).putInt(data.length).array());
        out.writeBytes(t);
        out.writeBytes(data);
        out.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }

    @Test
    void refusesOversizedHeadersAndReadsNormalImages(@TempDir Path dir) throws IOException {
        Path bomb = Files.write(dir.resolve("bomb.png"), pngHeader(1, 100_000_000));
        IOException e = assertThrows(IOException.class, () -> ImageFolder.read(bomb));
        assertTrue(e.getMessage().contains("bomb.png: 1x100000000 is over 67108864 pixels"), e.getMessage());
        Path junk = Files.write(dir.resolve("junk.png"), "not an image".getBytes(StandardCharsets.UTF_8));
        e = assertThrows(IOException.class, () -> ImageFolder.read(junk));
        assertTrue(e.getMessage().contains("junk.png: not a readable PNG/JPEG image"), e.getMessage());

        BufferedImage img = new BufferedImage(3, 2, BufferedImage.TYPE_INT_RGB);
        img.setRGB(2, 1, 0x123456);
        Path ok = dir.resolve("ok.png");
        ImageIO.write(img, "png", ok.toFile());
        BufferedImage back = ImageFolder.read(ok);
        assertEquals(3, back.getWidth());
        assertEquals(0x123456, back.getRGB(2, 1) & 0xFFFFFF);
    }
}
