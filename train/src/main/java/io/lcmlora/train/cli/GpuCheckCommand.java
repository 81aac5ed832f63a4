package io.lcmlora.train.cli;

import io.lcmlora.engine.DeviceSpec;
import io.lcmlora.train.gpu.GpuCheck;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code lcm gpu-check}: the table of {@link GpuCheck} (what {@code tools/gpu-check.sh} runs on the GPU machine). */
@Command(name = "gpu-check", mixinStandardHelpOptions = true,
        description = "Golden parity on the device (fp32/fp16/bf16), SDXL-size UNet speed, one LCD step, 4-step sampling.")
public final class GpuCheckCommand implements Callable<Integer> {
    @Option(names = "--device", defaultValue = "auto", description = "auto, cpu, gpu or gpu:N (default ${DEFAULT-VALUE})")
    String device;

    @Option(names = "--cpu", description = "the CPU half: device cpu and tiny sizes (what the tests run)")
    boolean cpu;

    @Option(names = "--small", description = "tiny sizes instead of SDXL sizes")
    boolean small;

    @Option(names = "--golden", defaultValue = "testdata/golden", description = "golden folder (default ${DEFAULT-VALUE})")
    Path golden;

    @Option(names = "--max-batch", defaultValue = "8", description = "largest UNet batch tried (default ${DEFAULT-VALUE})")
    int maxBatch;

    @Option(names = "--budget-seconds", defaultValue = "420",
            description = "sections starting later than this are skipped (default ${DEFAULT-VALUE})")
    double budget;

    @Option(names = "--parity-only", description = "skip the speed sections")
    boolean parityOnly;

    @Override
    public Integer call() {
        DeviceSpec d = cpu ? DeviceSpec.parse("cpu") : DeviceSpec.parse(device);
        List<GpuCheck.Row> rows = GpuCheck.run(new GpuCheck.Options(d, cpu || small, golden, maxBatch, budget, !parityOnly),
                System.out);
        System.out.println();
        System.out.println("| check | dtype | result |");
        System.out.println("|---|---|---|");
        int errors = 0;
        for (GpuCheck.Row r : rows) {
            System.out.println("| " + r.check() + " | " + r.dtype() + " | " + r.result() + " |");
            if (r.result().startsWith("error")) {
                errors++;
            }
        }
        System.out.println(errors == 0 ? "gpu-check: all rows measured" : "gpu-check: " + errors + " row(s) failed");
        return errors == 0 ? 0 : 1;
    }
}
