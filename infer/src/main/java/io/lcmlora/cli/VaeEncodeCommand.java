package io.lcmlora.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.model.vae.AutoencoderKL;
import io.lcmlora.model.vae.DiagonalGaussianDistribution;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * {@code lcm forward vae-encode}: {@code sample} [B, 3, H, W] in [-1, 1] (and optionally {@code noise}, a standard
 * normal draw of the latent shape) -> {@code mean}, {@code std} and, with noise, {@code latent_sample = mean + std *
 * noise}. Latents are unscaled (the pipeline multiplies by scaling_factor).
 */
@Command(name = "vae-encode", mixinStandardHelpOptions = true,
        description = "AutoencoderKL encode: inputs 'sample' (images in [-1, 1]) and optional 'noise'; outputs 'mean', "
                + "'std' and, with noise, 'latent_sample' (unscaled latents).")
public final class VaeEncodeCommand implements Callable<Integer> {
    @Mixin
    VaeOptions options = new VaeOptions();

    @Override
    public Integer call() throws IOException {
        Map<String, long[]> shapes = run(options);
        shapes.forEach((k, v) -> System.out.println(k + " " + java.util.Arrays.toString(v)));
        return 0;
    }

    /** Runs the encode and writes {@code o.output}; returns the written tensors' shapes. */
    public static Map<String, long[]> run(VaeOptions o) throws IOException {
        try (NDManager manager = NDManager.newBaseManager(); SafeTensorsFile in = SafeTensorsFile.open(o.inputs)) {
            AutoencoderKL vae = o.load(manager);
            NDArray sample = o.input(in, "sample", true, manager);
            NDArray noise = o.input(in, "noise", false, manager);
            DiagonalGaussianDistribution dist = vae.encode(sample, o.chunking(vae));
            Map<String, NDArray> out = new LinkedHashMap<>();
            out.put("mean", dist.mean());
            out.put("std", dist.std());
            if (noise != null) {
                out.put("latent_sample", dist.sample(noise));
            }
            o.write(out, "vae-encode");
            Map<String, long[]> shapes = new LinkedHashMap<>();
            out.forEach((k, v) -> shapes.put(k, v.getShape().getShape()));
            return shapes;
        }
    }
}
