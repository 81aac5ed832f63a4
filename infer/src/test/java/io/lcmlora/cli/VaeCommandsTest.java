package io.lcmlora.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lcmlora.io.DType;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.io.SafeTensorsWriter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code forward vae-encode} / {@code vae-decode} on the golden tiny VAE, compared with diffusers' outputs. */
class VaeCommandsTest {
    static final Path VAE = Path.of(System.getProperty("golden.dir"), "vae");
    static final Path CASES = VAE.resolve("cases.safetensors");

    @TempDir
    static Path tmp;
    static Path encodeIn;
    static Path decodeIn;

    @BeforeAll
    static void inputs() throws IOException {
        encodeIn = tmp.resolve("encode-in.safetensors");
        decodeIn = tmp.resolve("decode-in.safetensors");
        try (SafeTensorsFile c = SafeTensorsFile.open(CASES)) {
            new SafeTensorsWriter()
                    .addFloats("sample", c.info("image").shape(), c.floats("image"), DType.F32)
                    .addFloats("noise", c.info("sample_eps").shape(), c.floats("sample_eps"), DType.F32)
                    .write(encodeIn);
            new SafeTensorsWriter()
                    .addFloats("latents", c.info("decode_in").shape(), c.floats("decode_in"), DType.F32)
                    .write(decodeIn);
        }
    }

    /** Max abs difference between a written tensor and a golden one (shapes must match). */
    static double maxAbs(Path out, String name, String golden) throws IOException {
        try (SafeTensorsFile o = SafeTensorsFile.open(out); SafeTensorsFile c = SafeTensorsFile.open(CASES)) {
            assertEquals(DType.F32, o.info(name).dtype());
            assertArrayEquals(c.info(golden).shape(), o.info(name).shape(), name);
            float[] a = o.floats(name);
            float[] b = c.floats(golden);
            double m = 0;
            for (int i = 0; i < a.length; i++) {
                m = Math.max(m, Math.abs((double) a[i] - b[i]));
            }
            System.out.printf("cli %s vs %s: max abs %.3g%n", name, golden, m);
            return m;
        }
    }

    @Test
    void encodeWritesGoldenMeanStdAndSample() throws IOException {
        Path out = tmp.resolve("enc.safetensors");
        Map<String, long[]> shapes = VaeEncodeCommand.run(VaeOptions.of(VAE, encodeIn, out));
        assertEquals(java.util.List.of("mean", "std", "latent_sample"), java.util.List.copyOf(shapes.keySet()));
        assertTrue(maxAbs(out, "mean", "latent_mean") <= 1e-4);
        assertTrue(maxAbs(out, "std", "latent_std") <= 1e-4);
        assertTrue(maxAbs(out, "latent_sample", "latent_sample") <= 1e-4);
    }

    @Test
    void decodeThroughTheCommandLine() throws IOException {
        Path out = tmp.resolve("dec.safetensors");
        int code = new CommandLine(new ForwardCommand()).execute("vae-decode", "--model", VAE.toString(), "--inputs",
                decodeIn.toString(), "--output", out.toString(), "--sliced");
        assertEquals(0, code);
        assertTrue(maxAbs(out, "sample", "decode_out") <= 1e-4);
    }

    /** fp16 compute on the tiny VAE (outputs written as F32); measured max abs vs the fp32 golden in the log. */
    @Test
    void decodeInFp16() throws IOException {
        Path out = tmp.resolve("dec16.safetensors");
        VaeOptions o = VaeOptions.of(VAE, decodeIn, out);
        o.dtype = "fp16";
        assertArrayEquals(new long[] {2, 3, 32, 32}, VaeDecodeCommand.run(o));
        assertTrue(maxAbs(out, "sample", "decode_out") <= 2e-2);
    }

    @Test
    void missingInputIsNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> VaeDecodeCommand.run(VaeOptions.of(VAE, encodeIn, tmp.resolve("x.safetensors"))));
        assertTrue(e.getMessage().contains("'latents'") && e.getMessage().contains("encode-in.safetensors"), e.getMessage());
    }
}
