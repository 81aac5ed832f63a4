package io.lcmlora.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import io.lcmlora.eval.InceptionV3Fid;
import io.lcmlora.eval.Preprocessing;
import io.lcmlora.io.DType;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.io.SafeTensorsWriter;
import io.lcmlora.io.TensorInfo;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code lcm forward inception}: the FID InceptionV3 on uint8 images. Every U8 [N, 3, H, W] tensor
 * {@code <p>images_u8} of the input file gives {@code <p>block0_channel_mean} [N, 64],
 * {@code <p>block1_channel_mean} [N, 192], {@code <p>block2_channel_mean} [N, 768] and {@code <p>pool3}
 * [N, 2048] (the golden fid README's names; a tensor with another name X gives {@code X_block0_channel_mean}...).
 */
@Command(name = "inception", mixinStandardHelpOptions = true,
        description = "Run the FID InceptionV3 (pytorch-fid) on uint8 images; write the block taps and pool3 features.")
public final class ForwardInceptionCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--weights", required = true, description = "safetensors with pytorch-fid's InceptionV3 names")
    Path weights;

    @Option(names = "--inputs", required = true, description = "safetensors with U8 [N, 3, H, W] image tensors")
    Path inputs;

    @Option(names = "--output", required = true, description = "safetensors to write")
    Path output;

    @Option(names = "--preprocessing", defaultValue = "pytorch-fid",
            description = "pytorch-fid (bilinear) or clean-fid (PIL bicubic); default ${DEFAULT-VALUE}")
    String preprocessing;

    @Option(names = "--batch-size", defaultValue = "8", description = "images per forward pass; default ${DEFAULT-VALUE}")
    int batchSize;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        for (String name : run(weights, inputs, output, Preprocessing.parse(preprocessing), batchSize)) {
            out.println(name);
        }
        out.flush();
        return 0;
    }

    /** Runs the network on every image tensor of {@code inputs}; returns the names written to {@code output}. */
    public static List<String> run(Path weights, Path inputs, Path output, Preprocessing preprocessing, int batchSize)
            throws IOException {
        if (batchSize < 1) {
            throw new IllegalArgumentException("--batch-size must be positive, got " + batchSize);
        }
        SafeTensorsWriter w = new SafeTensorsWriter()
                .metadata("preprocessing", preprocessing.id())
                .metadata("weights", weights.getFileName().toString());
        List<String> written = new ArrayList<>();
        try (InceptionV3Fid net = InceptionV3Fid.load(weights, 2048, preprocessing);
                SafeTensorsFile in = SafeTensorsFile.open(inputs);
                NDManager m = NDManager.newBaseManager()) {
            for (TensorInfo t : in.tensors().values()) {
                if (t.dtype() != DType.U8 || t.shape().length != 4 || t.shape()[1] != 3) {
                    continue;
                }
                String prefix = t.name().endsWith("images_u8")
                        ? t.name().substring(0, t.name().length() - "images_u8".length()) : t.name() + "_";
                NDArray images = in.load(t.name(), m);
                long n = t.shape()[0];
                List<float[]> taps = new ArrayList<>(List.of(new float[0], new float[0], new float[0], new float[0]));
                for (long start = 0; start < n; start += batchSize) {
                    try (NDScope scope = new NDScope()) {
                        List<NDArray> out = net.forwardImages(images.get(start + ":" + Math.min(n, start + batchSize)), 3);
                        for (int b = 0; b < 4; b++) {
                            NDArray v = b < 3 ? InceptionV3Fid.channelMeans(out.get(b)) : out.get(b);
                            taps.set(b, concat(taps.get(b), v.toFloatArray()));
                        }
                    }
                }
                for (int b = 0; b < 4; b++) {
                    String name = prefix + (b < 3 ? "block" + b + "_channel_mean" : "pool3");
                    w.addFloats(name, new long[] {n, InceptionV3Fid.BLOCK_DIMS.get(b)}, taps.get(b), DType.F32);
                    written.add(name);
                }
            }
        }
        if (written.isEmpty()) {
            throw new IllegalArgumentException(inputs + ": no U8 [N, 3, H, W] image tensor");
        }
        w.write(output);
        return written;
    }

    private static float[] concat(float[] a, float[] b) {
        float[] c = new float[a.length + b.length];
        System.arraycopy(a, 0, c, 0, a.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
