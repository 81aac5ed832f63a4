package io.lcmlora.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.nn.Weights;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * pytorch-fid's {@code InceptionV3} with {@code use_fid_inception=True}: the TF inception-2015-12-05 graph
 * (torchvision Inception3 with the FIDInceptionA/C/E_1/E_2 patches), keyed by pytorch-fid's state_dict names
 * ({@code blocks.<block>.<index>...}). Four taps, as pytorch-fid's {@code output_blocks}: block 0 (after the
 * first max pool, 64 channels), block 1 (second max pool, 192), block 2 (Mixed_6e, 768), block 3 (the global
 * average pool, the 2048-d pool3 features FID uses). For dims below 2048 the features are the tap's channel
 * means, as pytorch-fid's {@code fid_score} reduces them.
 */
public final class InceptionV3Fid implements FeatureExtractor {
    public static final int INPUT_SIZE = 299;
    /** Channels of the taps of blocks 0..3 (pytorch-fid's {@code BLOCK_INDEX_BY_DIM}). */
    public static final List<Integer> BLOCK_DIMS = List.of(64, 192, 768, 2048);

    private final NDManager manager;
    private final String source;
    private final int dims;
    private final int block;
    private final Preprocessing preprocessing;

    // block 0: Conv2d_1a_3x3, Conv2d_2a_3x3, Conv2d_2b_3x3, max pool
    private final BasicConv2d conv1a;
    private final BasicConv2d conv2a;
    private final BasicConv2d conv2b;
    // block 1: Conv2d_3b_1x1, Conv2d_4a_3x3, max pool
    private final BasicConv2d conv3b;
    private final BasicConv2d conv4a;
    // block 2: Mixed_5b..5d, 6a, 6b..6e
    private final FidInceptionA mixed5b;
    private final FidInceptionA mixed5c;
    private final FidInceptionA mixed5d;
    private final InceptionB mixed6a;
    private final FidInceptionC mixed6b;
    private final FidInceptionC mixed6c;
    private final FidInceptionC mixed6d;
    private final FidInceptionC mixed6e;
    // block 3: Mixed_7a, 7b, 7c, adaptive average pool
    private final InceptionD mixed7a;
    private final FidInceptionE mixed7b;
    private final FidInceptionE mixed7c;

    /**
     * Builds the network on weights looked up by pytorch-fid's names. {@code manager} (may be null) is closed
     * with the extractor; {@code dims} picks the tap whose features {@link #features} returns.
     */
    public InceptionV3Fid(Weights vb, NDManager manager, String source, int dims, Preprocessing preprocessing) {
        if (!BLOCK_DIMS.contains(dims)) {
            throw new IllegalArgumentException("dims must be one of " + BLOCK_DIMS + " (pytorch-fid's taps), got " + dims);
        }
        this.manager = manager;
        this.source = source;
        this.dims = dims;
        this.block = BLOCK_DIMS.indexOf(dims);
        this.preprocessing = preprocessing;
        Weights b0 = vb.pp("blocks").pp(0);
        Weights b1 = vb.pp("blocks").pp(1);
        Weights b2 = vb.pp("blocks").pp(2);
        Weights b3 = vb.pp("blocks").pp(3);
        conv1a = new BasicConv2d(b0.pp(0), 3, 32, 3, 2, 0);
        conv2a = new BasicConv2d(b0.pp(1), 32, 32, 3, 1, 0);
        conv2b = new BasicConv2d(b0.pp(2), 32, 64, 3, 1, 1);
        conv3b = new BasicConv2d(b1.pp(0), 64, 80, 1, 1, 0);
        conv4a = new BasicConv2d(b1.pp(1), 80, 192, 3, 1, 0);
        mixed5b = new FidInceptionA(b2.pp(0), 192, 32);
        mixed5c = new FidInceptionA(b2.pp(1), 256, 64);
        mixed5d = new FidInceptionA(b2.pp(2), 288, 64);
        mixed6a = new InceptionB(b2.pp(3), 288);
        mixed6b = new FidInceptionC(b2.pp(4), 768, 128);
        mixed6c = new FidInceptionC(b2.pp(5), 768, 160);
        mixed6d = new FidInceptionC(b2.pp(6), 768, 160);
        mixed6e = new FidInceptionC(b2.pp(7), 768, 192);
        mixed7a = new InceptionD(b3.pp(0), 768);
        mixed7b = new FidInceptionE(b3.pp(1), 1280, FidInceptionE.PoolKind.AVERAGE_E1);
        mixed7c = new FidInceptionE(b3.pp(2), 2048, FidInceptionE.PoolKind.MAX_E2);
    }

    /**
     * Loads a safetensors file with pytorch-fid's state_dict names (see {@code tools/convert_inception_weights.py});
     * {@code *.num_batches_tracked} entries are ignored, any other unknown key is an error.
     */
    public static InceptionV3Fid load(Path file, int dims, Preprocessing preprocessing) throws IOException {
        NDManager manager = NDManager.newBaseManager();
        try (SafeTensorsFile st = SafeTensorsFile.open(file)) {
            if (!st.contains("blocks.0.0.conv.weight") && st.contains("Conv2d_1a_3x3.conv.weight")) {
                throw new Weights.WeightsException(file + ": has torchvision Inception3 names (Conv2d_1a_3x3...), "
                        + "expected pytorch-fid's InceptionV3 names (blocks.0.0...): convert the weights with "
                        + "tools/convert_inception_weights.py");
            }
            Map<String, NDArray> tensors = new HashMap<>();
            Set<String> ignorable = new HashSet<>();
            for (String name : st.tensors().keySet()) {
                if (name.endsWith("num_batches_tracked")) {
                    ignorable.add(name);
                    continue;
                }
                tensors.put(name, st.load(name, manager, DataType.FLOAT32));
            }
            Weights vb = Weights.of(manager, tensors, file.toString());
            InceptionV3Fid net = new InceptionV3Fid(vb, manager, file.getFileName().toString(), dims, preprocessing);
            vb.checkAllUsed(ignorable);
            return net;
        } catch (RuntimeException | IOException e) {
            manager.close();
            throw e;
        }
    }

    /**
     * The taps of blocks 0..lastBlock for input already preprocessed to [N, 3, 299, 299] in [-1, 1]:
     * [N, 64, 73, 73], [N, 192, 35, 35], [N, 768, 17, 17], [N, 2048] (pool3, spatial dims dropped).
     */
    public List<NDArray> forward(NDArray x, int lastBlock) {
        if (lastBlock < 0 || lastBlock > 3) {
            throw new IllegalArgumentException("lastBlock must be 0..3, got " + lastBlock);
        }
        List<NDArray> taps = new ArrayList<>(lastBlock + 1);
        // [N, 3, 299, 299] -> [N, 32, 149, 149] -> [N, 32, 147, 147] -> [N, 64, 147, 147] -> [N, 64, 73, 73]
        x = InceptionPools.max3x3Stride2(conv2b.forward(conv2a.forward(conv1a.forward(x))));
        taps.add(x);
        if (lastBlock == 0) {
            return taps;
        }
        // -> [N, 80, 73, 73] -> [N, 192, 71, 71] -> [N, 192, 35, 35]
        x = InceptionPools.max3x3Stride2(conv4a.forward(conv3b.forward(x)));
        taps.add(x);
        if (lastBlock == 1) {
            return taps;
        }
        // -> [N, 256|288|288, 35, 35] -> [N, 768, 17, 17]
        x = mixed5d.forward(mixed5c.forward(mixed5b.forward(x)));
        x = mixed6a.forward(x);
        x = mixed6e.forward(mixed6d.forward(mixed6c.forward(mixed6b.forward(x))));
        taps.add(x);
        if (lastBlock == 2) {
            return taps;
        }
        // -> [N, 1280, 8, 8] -> [N, 2048, 8, 8] -> [N, 2048]
        x = mixed7c.forward(mixed7b.forward(mixed7a.forward(x)));
        taps.add(channelMeans(x));
        return taps;
    }

    /** [N, C, H, W] -> [N, C]: the spatial mean (adaptive average pool to 1x1). */
    public static NDArray channelMeans(NDArray x) {
        long[] s = x.getShape().getShape();
        return x.reshape(s[0], s[1], s[2] * s[3]).mean(new int[] {2});
    }

    /** The taps of uint8 images [N, 3, H, W] after this extractor's preprocessing. */
    public List<NDArray> forwardImages(NDArray imagesU8, int lastBlock) {
        return forward(preprocessing.apply(imagesU8, INPUT_SIZE), lastBlock);
    }

    public Preprocessing preprocessing() {
        return preprocessing;
    }

    @Override
    public int dim() {
        return dims;
    }

    @Override
    public String describe() {
        String tap = block == 3 ? "pool3" : "block " + block + " channel means";
        return "pytorch-fid InceptionV3 " + tap + " (" + dims + "-d), weights " + source + ", preprocessing "
                + preprocessing.id();
    }

    @Override
    public double[][] features(NDArray imagesU8) {
        try (NDScope scope = new NDScope()) {
            NDArray tap = forwardImages(imagesU8, block).get(block);
            NDArray f = tap.getShape().dimension() == 4 ? channelMeans(tap) : tap;
            return FeatureRows.toRows(f);
        }
    }

    @Override
    public void close() {
        if (manager != null) {
            manager.close();
        }
    }
}
