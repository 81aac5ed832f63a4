package io.lcmlora.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.nn.Conv2d;
import io.lcmlora.nn.GroupNorm;
import io.lcmlora.nn.Linear;
import io.lcmlora.nn.Ops;
import io.lcmlora.nn.Weights;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A small CNN image classifier whose penultimate layer serves as a domain feature extractor for FID where
 * InceptionV3 (trained on photos) is a poor judge, e.g. 32 px emoji. Per stage: conv 3x3 stride 2 + GroupNorm
 * + SiLU, conv 3x3 + GroupNorm + SiLU; then the spatial mean (the features) and two linear heads (coarse
 * classes, fine subclasses), plus a third linear head over styles when the config names styles (it makes the
 * features separate styles as well as content, so an FID on them sees a change of style). Weights:
 * {@code stages.<i>.conv1|norm1|conv2|norm2.*}, {@code head.*}, {@code subhead.*}, {@code stylehead.*}.
 *
 * <p>Preprocessing of uint8 RGB images: scaled to [-1, 1]; an image of twice the configured resolution is
 * 2x2 box-averaged (how the demo's 32 px data is made from 64 px), one of the configured resolution is used
 * as is, any other size is resized bilinearly (no antialiasing).
 */
public final class DomainClassifier implements FeatureExtractor {
    public static final String CONFIG = "config.json";
    public static final String WEIGHTS = "model.safetensors";

    private final DomainClassifierConfig config;
    private final NDManager manager;
    private final String describe;
    private final List<Conv2d> convs = new ArrayList<>();
    private final List<GroupNorm> norms = new ArrayList<>();
    private final Linear head;
    private final Linear subhead;
    private final Linear stylehead; // null without styles

    /** Builds the network over {@code vb} (loaded weights, or a {@link Weights#shapesOnly} recorder). */
    public DomainClassifier(Weights vb, DomainClassifierConfig config, String describe) {
        this.config = config;
        this.manager = vb.manager();
        this.describe = describe;
        long in = 3;
        for (int i = 0; i < config.channels().size(); i++) {
            long c = config.channels().get(i);
            Weights s = vb.pp("stages").pp(i);
            convs.add(new Conv2d(s.pp("conv1"), in, c, 3, 2, 1));
            norms.add(new GroupNorm(s.pp("norm1"), config.normGroups(), c, 1e-5));
            convs.add(new Conv2d(s.pp("conv2"), c, c, 3, 1, 1));
            norms.add(new GroupNorm(s.pp("norm2"), config.normGroups(), c, 1e-5));
            in = c;
        }
        head = new Linear(vb.pp("head"), in, config.classes().size(), true);
        subhead = new Linear(vb.pp("subhead"), in, config.subclasses().size(), true);
        stylehead = config.hasStyles() ? new Linear(vb.pp("stylehead"), in, config.styles().size(), true) : null;
    }

    /**
     * Loads a classifier folder: {@code config.json} ({@link DomainClassifierConfig}) and {@code model.safetensors}.
     * This is the entry point for evaluation tools selecting extractors by type ({@value DomainClassifierConfig#TYPE}).
     */
    public static DomainClassifier load(Path dir) throws IOException {
        DomainClassifierConfig config = DomainClassifierConfig.read(dir.resolve(CONFIG));
        Path file = dir.resolve(WEIGHTS);
        NDManager manager = NDManager.newBaseManager();
        try (SafeTensorsFile st = SafeTensorsFile.open(file)) {
            Map<String, NDArray> tensors = new HashMap<>();
            for (String name : st.tensors().keySet()) {
                tensors.put(name, st.load(name, manager, DataType.FLOAT32));
            }
            Weights vb = Weights.of(manager, tensors, file.toString());
            DomainClassifier net = new DomainClassifier(vb, config, String.format(
                    "domain classifier %s (sha256 %s), pooled %d-d, %d px input", dir.getFileName(), sha256Prefix(file),
                    config.featureDim(), config.resolution()));
            vb.checkAllUsed(Set.of());
            return net;
        } catch (RuntimeException | IOException e) {
            manager.close();
            throw e;
        }
    }

    public DomainClassifierConfig config() {
        return config;
    }

    /** uint8 [N, 3, H, W] -> float [N, 3, R, R] in [-1, 1] (see the class comment for the resizing). */
    public NDArray preprocess(NDArray imagesU8) {
        long[] s = imagesU8.getShape().getShape();
        if (s.length != 4 || s[1] != 3) {
            throw new IllegalArgumentException("images must be [N, 3, H, W], got " + imagesU8.getShape());
        }
        int r = config.resolution();
        NDArray x = Ops.addScalar(Ops.mulScalar(imagesU8.toType(DataType.FLOAT32, false), 1 / 127.5), -1);
        if (s[2] == 2L * r && s[3] == 2L * r) {
            // [N, 3, 2R, 2R] -> [N, 3, R, 2, R, 2] -> [N, 3, R, R]
            return x.reshape(s[0], 3, r, 2, r, 2).mean(new int[] {5}).mean(new int[] {3});
        }
        if (s[2] == r && s[3] == r) {
            return x;
        }
        return Ops.resizeBilinear(x, r, r);
    }

    /** Pooled features of preprocessed input: [N, 3, R, R] -> [N, D]. */
    public NDArray forwardFeatures(NDArray x) {
        for (int i = 0; i < convs.size(); i++) {
            // stage i, conv1 halves the size: [N, C, H, W] -> [N, C', H/2, W/2]
            x = Ops.silu(norms.get(i).forward(convs.get(i).forward(x)));
        }
        return InceptionV3Fid.channelMeans(x);
    }

    /** Class logits of features: [N, D] -> [N, classes]. */
    public NDArray classLogits(NDArray features) {
        return head.forward(features);
    }

    /** Subclass logits of features: [N, D] -> [N, subclasses]. */
    public NDArray subclassLogits(NDArray features) {
        return subhead.forward(features);
    }

    /** Style logits of features: [N, D] -> [N, styles]; only for a classifier whose config names styles. */
    public NDArray styleLogits(NDArray features) {
        if (stylehead == null) {
            throw new IllegalStateException(describe + " has no style head (its config.json names no styles)");
        }
        return stylehead.forward(features);
    }

    /**
     * Prompt alignment of uint8 images [N, 3, H, W]: for image i the softmax probability of class {@code labels[i]}
     * (an index into {@link DomainClassifierConfig#classes()}) under the coarse head.
     */
    public double[] classProbability(NDArray imagesU8, int[] labels) {
        if (labels.length != imagesU8.getShape().get(0)) {
            throw new IllegalArgumentException(labels.length + " labels for " + imagesU8.getShape().get(0) + " images");
        }
        double[][] p;
        try (NDScope scope = new NDScope()) {
            p = FeatureRows.toRows(classLogits(forwardFeatures(preprocess(imagesU8))).softmax(1)); // [N, classes]
        }
        double[] out = new double[labels.length];
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0 || labels[i] >= p[i].length) {
                throw new IllegalArgumentException("label " + labels[i] + " is not a class index of " + p[i].length);
            }
            out[i] = p[i][labels[i]];
        }
        return out;
    }

    @Override
    public int dim() {
        return config.featureDim();
    }

    @Override
    public String describe() {
        return describe;
    }

    @Override
    public double[][] features(NDArray imagesU8) {
        try (NDScope scope = new NDScope()) {
            return FeatureRows.toRows(forwardFeatures(preprocess(imagesU8)));
        }
    }

    @Override
    public void close() {
        manager.close();
    }

    private static String sha256Prefix(Path file) throws IOException {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)))
                    .substring(0, 12);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
