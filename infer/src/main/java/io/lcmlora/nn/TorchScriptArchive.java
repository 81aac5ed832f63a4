package io.lcmlora.nn;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Writes a TorchScript archive without Python: the zip holds TorchScript source in code/__torch__.py, which
 * libtorch compiles at load time, plus a minimal data.pkl for a parameterless module. Archive version 10
 * (with older versions the loader applies op upgraders that reject current signatures).
 */
final class TorchScriptArchive {
    private TorchScriptArchive() {}

    static void write(Path out, String cls, String methods) throws IOException {
        String code = "class " + cls + "(Module):\n"
                + "  __parameters__ = []\n"
                + "  __buffers__ = []\n"
                + "  training : bool\n"
                + "  _is_full_backward_hook : Optional[bool]\n"
                + methods;
        String root = cls.toLowerCase() + "/";
        try (OutputStream fo = Files.newOutputStream(out); ZipOutputStream z = new ZipOutputStream(fo)) {
            stored(z, root + "data.pkl", modulePickle(cls));
            stored(z, root + "code/__torch__.py", code.getBytes(StandardCharsets.UTF_8));
            stored(z, root + "constants.pkl", new byte[] {(byte) 0x80, 2, ')', '.'});
            stored(z, root + "version", "10\n".getBytes(StandardCharsets.US_ASCII));
            stored(z, root + "byteorder", "little".getBytes(StandardCharsets.US_ASCII));
        }
    }

    private static void stored(ZipOutputStream z, String name, byte[] data) throws IOException {
        ZipEntry e = new ZipEntry(name);
        e.setMethod(ZipEntry.STORED);
        e.setSize(data.length);
        CRC32 crc = new CRC32();
        crc.update(data);
        e.setCrc(crc.getValue());
        z.putNextEntry(e);
        z.write(data);
        z.closeEntry();
    }

    /** Pickle protocol 2 of {@code __torch__.<cls>()} with state {training: True, _is_full_backward_hook: None}. */
    private static byte[] modulePickle(String cls) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(0x80);
        b.write(2);
        b.writeBytes(("c__torch__\n" + cls + "\n").getBytes(StandardCharsets.US_ASCII));
        b.write(')');
        b.write(0x81);
        b.write('}');
        b.write('(');
        pickleString(b, "training");
        b.write(0x88);
        pickleString(b, "_is_full_backward_hook");
        b.write('N');
        b.write('u');
        b.write('b');
        b.write('.');
        return b.toByteArray();
    }

    private static void pickleString(ByteArrayOutputStream b, String s) {
        byte[] d = s.getBytes(StandardCharsets.UTF_8);
        b.write('X');
        for (int i = 0; i < 4; i++) {
            b.write((d.length >> (8 * i)) & 0xFF);
        }
        b.writeBytes(d);
    }
}
