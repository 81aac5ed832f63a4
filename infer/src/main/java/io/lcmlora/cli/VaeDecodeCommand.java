package io.lcmlora.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.model.vae.AutoencoderKL;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * {@code lcm forward vae-decode}: {@code latents} [B, 4, h, w], unscaled (already divided by scaling_factor) ->
 * {@code sample} [B, 3, 8h, 8w] for SDXL, not clamped.
 */
@Command(name = "vae-decode", mixinStandardHelpOptions = true,
        description = "AutoencoderKL decode: input 'latents' (unscaled, i.e. already divided by scaling_factor); "
                + "output 'sample' (images, about [-1, 1], not clamped).")
public final class VaeDecodeCommand implements Callable<Integer> {
    @Mixin
    VaeOptions options = new VaeOptions();

    @Override
    public Integer call() throws IOException {
        System.out.println("sample " + java.util.Arrays.toString(run(options)));
        return 0;
    }

    /** Runs the decode and writes {@code o.output}; returns the shape of {@code sample}. */
    public static long[] run(VaeOptions o) throws IOException {
        try (NDManager manager = NDManager.newBaseManager(); SafeTensorsFile in = SafeTensorsFile.open(o.inputs)) {
            AutoencoderKL vae = o.load(manager);
            NDArray latents = o.input(in, "latents", true, manager);
            NDArray sample = vae.decode(latents, o.chunking(vae));
            o.write(Map.of("sample", sample), "vae-decode");
            return sample.getShape().getShape();
        }
    }
}
