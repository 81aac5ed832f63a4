package io.lcmlora.train.cli;

import io.lcmlora.train.distill.LoraExporter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code lcm export --checkpoint DIR --format kohya|kohya-diffusers|diffusers --dtype fp16|bf16|fp32 --out FILE}. */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = "Export a distill checkpoint's LoRA as a file common loaders read.")
public final class ExportCommand implements Callable<Integer> {
    @Option(names = "--checkpoint", required = true, paramLabel = "DIR", description = "a checkpoint-<step> folder of a distill run")
    Path checkpoint;

    @Option(names = "--format", defaultValue = "kohya", description = "kohya (sd-scripts SDXL keys, true alpha), "
            + "kohya-diffusers (kohya keys over diffusers paths) or diffusers (unet.X.lora_A/B.weight); default ${DEFAULT-VALUE}")
    String format;

    @Option(names = "--dtype", defaultValue = "fp16", description = "fp16, bf16 or fp32; default ${DEFAULT-VALUE}")
    String dtype;

    @Option(names = "--out", required = true, paramLabel = "FILE.safetensors")
    Path out;

    @Override
    public Integer call() throws Exception {
        int n = LoraExporter.exportCheckpoint(checkpoint, LoraExporter.Format.parse(format), LoraExporter.dtype(dtype), out);
        System.out.println("wrote " + out + " (" + n + " modules, " + format + ", " + dtype + ")");
        return 0;
    }
}
