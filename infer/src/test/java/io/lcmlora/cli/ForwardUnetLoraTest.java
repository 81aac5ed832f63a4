package io.lcmlora.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import io.lcmlora.io.SafeTensorsFile;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code lcm forward unet --lora}: the golden PEFT LoRA on the tiny UNet reproduces diffusers' unfused output. */
class ForwardUnetLoraTest {
    static final Path GOLDEN = Path.of(System.getProperty("golden.dir"));

    @TempDir
    Path tmp;

    @Test
    void loraOutputMatchesDiffusers() throws Exception {
        Path expected = GOLDEN.resolve("lora_formats/expected.safetensors");
        Path out = tmp.resolve("out.safetensors");
        int rc = new CommandLine(new ForwardCommand()).execute("unet", "--model", GOLDEN.resolve("unet").toString(),
                "--inputs", expected.toString(), "--output", out.toString(),
                "--lora", GOLDEN.resolve("lora_formats/lora_peft.safetensors") + ":1.0");
        assertEquals(0, rc);
        try (NDManager m = NDManager.newBaseManager(); SafeTensorsFile got = SafeTensorsFile.open(out);
                SafeTensorsFile want = SafeTensorsFile.open(expected)) {
            float err = got.load("sample", m).sub(want.load("out_lora_unfused", m)).abs().max().getFloat();
            float base = got.load("sample", m).sub(want.load("out_base", m)).abs().max().getFloat();
            assertTrue(err < 1e-4, "max |out - out_lora_unfused| = " + err);
            assertTrue(base > 100 * err, "the LoRA must change the output (vs base: " + base + ")");
        }
    }
}
