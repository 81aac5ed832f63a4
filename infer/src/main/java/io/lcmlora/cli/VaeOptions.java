package io.lcmlora.cli;

import io.lcmlora.engine.Precision;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.io.SafeTensorsWriter;
import io.lcmlora.model.vae.AutoencoderKL;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import picocli.CommandLine.Option;

/** Options shared by {@code forward vae-encode} and {@code forward vae-decode} (a picocli mixin). */
public final class VaeOptions {
    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "A vae/ folder (config.json + diffusion_pytorch_model.safetensors) or a full SDXL folder (its vae/ is used).")
    public Path model;

    @Option(names = "--inputs", required = true, paramLabel = "IN.safetensors", description = "Input tensors.")
    public Path inputs;

    @Option(names = "--output", required = true, paramLabel = "OUT.safetensors", description = "Where to write the outputs (F32).")
    public Path output;

    @Option(names = "--dtype", defaultValue = "fp32", paramLabel = "fp32|fp16",
            description = "Compute precision (default ${DEFAULT-VALUE}); outputs are written as F32. diffusers pipelines "
                    + "run the SDXL VAE in fp32 (force_upcast).")
    public String dtype = "fp32";

    @Option(names = "--sliced", description = "Process the batch one image at a time (exact; less memory).")
    public boolean sliced;

    @Option(names = "--tiled", description = "diffusers-style tiling with tiles of the config's sample_size pixels "
            + "(overlap 0.25, linear blend; approximate).")
    public boolean tiled;

    @Option(names = "--tile-size", paramLabel = "PX", description = "Tiling with tiles of PX pixels (implies --tiled); "
            + "with overlap 0.25 a multiple of 4 * 2^(blocks-1), e.g. 512 for SDXL.")
    public int tileSize;

    /** Options for a run from code (tests): fp32, no slicing or tiling. */
    public static VaeOptions of(Path model, Path inputs, Path output) {
        VaeOptions o = new VaeOptions();
        o.model = model;
        o.inputs = inputs;
        o.output = output;
        return o;
    }

    AutoencoderKL load(NDManager manager) throws IOException {
        return AutoencoderKL.load(model, manager, Precision.parse(dtype).dataType());
    }

    AutoencoderKL.Chunking chunking(AutoencoderKL vae) {
        int tile = tileSize > 0 ? tileSize : tiled ? vae.config().sampleSize() : 0;
        return new AutoencoderKL.Chunking(sliced, tile, AutoencoderKL.Chunking.DEFAULT_OVERLAP);
    }

    /** The named input tensor in the compute dtype, or null when optional and absent. */
    NDArray input(SafeTensorsFile in, String name, boolean required, NDManager manager) throws IOException {
        if (!in.contains(name)) {
            if (required) {
                throw new IllegalArgumentException(in.path() + ": no tensor '" + name + "' (has " + in.tensors().keySet() + ")");
            }
            return null;
        }
        return in.load(name, manager, Precision.parse(dtype).dataType());
    }

    /** Writes the outputs as F32, atomically. */
    void write(Map<String, NDArray> outputs, String command) throws IOException {
        SafeTensorsWriter w = new SafeTensorsWriter().metadata("command", "forward " + command).metadata("dtype", dtype);
        for (Map.Entry<String, NDArray> e : outputs.entrySet()) {
            w.add(e.getKey(), e.getValue(), io.lcmlora.io.DType.F32);
        }
        w.write(output);
    }
}
