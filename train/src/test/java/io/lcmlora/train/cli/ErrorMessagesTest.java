package io.lcmlora.train.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The CLI's error line: file and reason, no Java class names, no stack trace for an expected error. */
class ErrorMessagesTest {
    @Test
    void ioErrorsNameTheFileAndTheReason() {
        assertEquals("/x/y.png: No space left on device",
                ErrorMessages.describe(new FileSystemException("/x/y.png", null, "No space left on device")));
        assertEquals("/x/cfg.yaml: no such file or folder", ErrorMessages.describe(new NoSuchFileException("/x/cfg.yaml")));
        assertEquals("/x: permission denied", ErrorMessages.describe(new AccessDeniedException("/x")));
        assertEquals("cannot write a.bin: No space left on device", ErrorMessages.describe(
                new UncheckedIOException(new IOException("cannot write a.bin: No space left on device"))));
        assertEquals("step 3: cannot write b: Disk quota exceeded", ErrorMessages.describe(
                new IOException("step 3: " + new IOException("cannot write b: Disk quota exceeded"))));
        assertEquals("reading c: Is a directory", ErrorMessages.describe(
                new IllegalStateException("reading c: java.nio.file.FileSystemException: Is a directory")));
        String npe = ErrorMessages.describe(new NullPointerException());
        assertTrue(npe.startsWith("internal error: java.lang.NullPointerException") && npe.contains("LCM_DEBUG=1"), npe);
    }

    @Test
    void theCommandLinePrintsOneLineForAConfigThatIsAFolder(@TempDir Path tmp) throws Exception {
        StringWriter err = new StringWriter();
        CommandLine cli = Main.commandLine();
        cli.setErr(new PrintWriter(err, true));
        assertEquals(1, cli.execute("distill", "--config", tmp.toString(), "--print-config"));
        assertEquals("error: config file " + tmp + ": is a folder; expected a YAML file (e.g. configs/sdxl-lcm-lora.yaml)",
                err.toString().strip());
        Path bin = Files.write(tmp.resolve("c.yaml"), new byte[] {'a', ':', ' ', (byte) 0xC3, (byte) 0x28});
        err.getBuffer().setLength(0);
        assertEquals(1, cli.execute("distill", "--config", bin.toString(), "--print-config"));
        assertTrue(err.toString().startsWith("error: " + bin + ": is not valid UTF-8") && !err.toString().contains("\tat "),
                err.toString());
    }
}
