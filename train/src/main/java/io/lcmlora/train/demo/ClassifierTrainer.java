package io.lcmlora.train.demo;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import io.lcmlora.eval.DomainClassifier;
import io.lcmlora.eval.DomainClassifierConfig;
import io.lcmlora.eval.FeatureStats;
import io.lcmlora.eval.FidStats;
import io.lcmlora.eval.ImageFolder;
import io.lcmlora.io.AtomicFiles;
import io.lcmlora.io.SafeTensorsWriter;
import io.lcmlora.nn.Ops;
import io.lcmlora.nn.Weights;
import io.lcmlora.train.emoji.EmojiManifest;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * Trains the demo's {@link DomainClassifier} on the emoji train split of both styles (category, subcategory and,
 * with a positive style weight, style heads; summed cross-entropy, the style term weighted; AdamW with a cosine
 * learning rate) and reports accuracy on the held-out split and how far apart its features put the styles: the
 * FID between the held-out images of the first two styles ({@link #separation}), the same names drawn by two vendors,
 * so the value is style alone (the larger, the more the FID features see style). Output folder: {@code config.json},
 * {@code model.safetensors}, {@code metrics.json}.
 */
public final class ClassifierTrainer {
    private ClassifierTrainer() {}

    /**
     * Training settings (the CLI defaults: 10 epochs, batch 64, lr 3e-3, weight decay 1e-4, seed 0, style weight 1).
     * {@code styleWeight} 0 trains no style head (the classifier before issue 14).
     */
    public record Options(int epochs, int batchSize, double learningRate, double weightDecay, long seed,
            double styleWeight) {
        public static final double STYLE_WEIGHT = 1.0;

        public Options {
            if (epochs < 1 || batchSize < 1 || !(learningRate > 0) || weightDecay < 0 || !(styleWeight >= 0)) {
                throw new IllegalArgumentException("epochs, batch size and learning rate must be positive, weight decay "
                        + "and style weight >= 0");
            }
        }
    }

    /**
     * Measured outcome: sample counts, held-out accuracies of the heads (style NaN without a style head), final mean
     * loss, the style separation of the held-out split, seconds.
     */
    public record Result(int trainImages, int heldoutImages, double heldoutCategoryAccuracy,
            double heldoutSubcategoryAccuracy, double trainCategoryAccuracy, double lastEpochLoss,
            Separation heldout, double seconds) {}

    /**
     * How a classifier sees a labelled set: category accuracy, style accuracy (NaN without a style head), and the
     * FID between the set's images of style 0 and of style 1 on its features, with both sample counts.
     */
    public record Separation(double categoryAccuracy, double styleAccuracy, double styleFid, long samplesA,
            long samplesB) {}

    /** Labelled uint8 RGB images, all of one size, as one flat array [N, 3, S, S]; style = index into the styles. */
    record Samples(byte[] pixels, int size, int[] category, int[] subcategory, int[] style) {
        int count() {
            return category.length;
        }
    }

    /**
     * Trains on {@code data/<style>/manifest-32.jsonl} (each style in {@code styles}) and writes the classifier
     * folder {@code out}; {@code log} gets a line per epoch.
     */
    public static Result train(Path data, List<String> styles, Path out, Options o, Consumer<String> log) throws IOException {
        long t0 = System.nanoTime();
        Labelled all = read(data, styles);
        List<String> categories = new ArrayList<>(new TreeSet<>(all.rows().stream().map(r -> r.get("category").getAsString()).toList()));
        List<String> subcategories = new ArrayList<>(new TreeSet<>(all.rows().stream().map(r -> r.get("subcategory").getAsString()).toList()));
        boolean styleHead = o.styleWeight() > 0;
        if (styleHead && styles.size() < 2) {
            throw new IllegalArgumentException("a style head needs at least 2 styles, got " + styles
                    + " (or set the style weight to 0)");
        }
        DomainClassifierConfig config = DomainClassifierConfig.emoji(categories, subcategories,
                styleHead ? styles : List.of());
        Samples train = samples(all, "train", categories, subcategories);
        Samples held = samples(all, "heldout", categories, subcategories);
        log.accept(String.format("classifier: %d train / %d held-out images, %d categories, %d subcategories (%.1f s to load)",
                train.count(), held.count(), categories.size(), subcategories.size(), (System.nanoTime() - t0) / 1e9));

        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> params = init(manager, config, o.seed());
            DomainClassifier net = new DomainClassifier(Weights.of(manager, params, "<training>"), config, "training");
            int stepsPerEpoch = (train.count() + o.batchSize() - 1) / o.batchSize();
            Optimizer opt = Optimizer.adamW()
                    .optLearningRateTracker(Tracker.cosine().setBaseValue((float) o.learningRate())
                            .optFinalValue(0f).setMaxUpdates(o.epochs() * stepsPerEpoch).build())
                    .optWeightDecays((float) o.weightDecay()).build();
            Random rng = new Random(o.seed());
            double lastLoss = 0;
            for (int epoch = 1; epoch <= o.epochs(); epoch++) {
                int[] order = permutation(train.count(), rng);
                double lossSum = 0;
                for (int s = 0; s < stepsPerEpoch; s++) {
                    int from = s * o.batchSize();
                    int[] idx = Arrays.copyOfRange(order, from, Math.min(from + o.batchSize(), order.length));
                    try (NDScope scope = new NDScope()) {
                        NDArray images = batch(train, idx, manager);
                        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                            NDArray f = net.forwardFeatures(net.preprocess(images));
                            NDArray loss = crossEntropy(net.classLogits(f), pick(train.category(), idx), categories.size())
                                    .add(crossEntropy(net.subclassLogits(f), pick(train.subcategory(), idx), subcategories.size()));
                            if (styleHead) {
                                loss = loss.add(Ops.mulScalar(crossEntropy(net.styleLogits(f), pick(train.style(), idx),
                                        styles.size()), o.styleWeight()));
                            }
                            gc.backward(loss);
                            lossSum += loss.getFloat();
                        }
                    }
                    try (NDManager sm = manager.newSubManager()) {
                        for (Map.Entry<String, NDArray> p : params.entrySet()) {
                            NDArray g = p.getValue().getGradient();
                            g.attach(sm);
                            opt.update(p.getKey(), p.getValue(), g);
                        }
                    }
                }
                lastLoss = lossSum / stepsPerEpoch;
                log.accept(String.format("classifier: epoch %d/%d loss %.4f (%.1f s)", epoch, o.epochs(), lastLoss,
                        (System.nanoTime() - t0) / 1e9));
            }
            double[] heldAcc = accuracy(net, held, manager);
            double[] trainAcc = accuracy(net, train, manager);
            Separation sep = styles.size() >= 2 ? separation(net, held, manager) : null;
            save(out, config, params);
            Result r = new Result(train.count(), held.count(), heldAcc[0], heldAcc[1], trainAcc[0], lastLoss, sep,
                    (System.nanoTime() - t0) / 1e9);
            writeMetrics(out.resolve("metrics.json"), r, o, styles);
            return r;
        }
    }

    /** Torch-default init: conv/linear weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)); norms 1 and 0. */
    static Map<String, NDArray> init(NDManager manager, DomainClassifierConfig config, long seed) {
        Map<String, long[]> shapes;
        try (NDManager tmp = NDManager.newBaseManager()) {
            Weights rec = Weights.shapesOnly(tmp);
            new DomainClassifier(rec, config, "shapes");
            shapes = new LinkedHashMap<>(rec.requested());
        }
        Random rng = new Random(seed);
        Map<String, NDArray> params = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            String key = e.getKey();
            long[] shape = e.getValue();
            int n = Math.toIntExact(new Shape(shape).size());
            float[] v = new float[n];
            if (key.contains(".norm")) {
                Arrays.fill(v, key.endsWith(".weight") ? 1f : 0f);
            } else {
                String weightKey = key.substring(0, key.lastIndexOf('.')) + ".weight";
                long[] ws = shapes.get(weightKey);
                long fanIn = new Shape(ws).size() / ws[0];
                double bound = 1 / Math.sqrt(fanIn);
                for (int i = 0; i < n; i++) {
                    v[i] = (float) ((rng.nextDouble() * 2 - 1) * bound);
                }
            }
            NDArray p = manager.create(v, new Shape(shape));
            p.setRequiresGradient(true);
            params.put(key, p);
        }
        return params;
    }

    /** Mean cross-entropy of logits [B, K] against class indices. */
    static NDArray crossEntropy(NDArray logits, int[] labels, int classes) {
        float[] oneHot = new float[labels.length * classes];
        for (int i = 0; i < labels.length; i++) {
            oneHot[i * classes + labels[i]] = 1f;
        }
        NDArray t = logits.getManager().create(oneHot, new Shape(labels.length, classes));
        return Ops.mulScalar(logits.logSoftmax(1).mul(t).sum(), -1.0 / labels.length);
    }

    /**
     * The held-out split of {@code styles} (at least 2) in {@code data} as the classifier {@code dir} sees it
     * ({@code lcm demo style-fid}): category accuracy, style accuracy, FID between style 0 and style 1.
     */
    public static Separation separation(Path data, List<String> styles, Path dir) throws IOException {
        if (styles.size() < 2) {
            throw new IllegalArgumentException("style separation needs 2 styles, got " + styles);
        }
        try (DomainClassifier net = DomainClassifier.load(dir); NDManager manager = NDManager.newBaseManager()) {
            List<String> classes = net.config().classes();
            Labelled all = read(data, styles);
            for (JsonObject r : all.rows()) {
                String c = r.get("category").getAsString();
                if (!classes.contains(c)) {
                    throw new IOException(dir + ": category '" + c + "' of the data is not one of the classifier's " + classes);
                }
            }
            if (net.config().hasStyles() && !net.config().styles().equals(styles)) {
                throw new IllegalArgumentException(dir + ": trained on styles " + net.config().styles() + ", asked for "
                        + styles + " (give them in that order)");
            }
            return separation(net, samples(all, "heldout", classes, net.config().subclasses()), manager);
        }
    }

    /** Category and style accuracy of {@code net} on {@code s} and the FID between its style-0 and style-1 images. */
    static Separation separation(DomainClassifier net, Samples s, NDManager manager) {
        FeatureStats a = FeatureStats.of(net);
        FeatureStats b = FeatureStats.of(net);
        int hitC = 0;
        int hitS = 0;
        for (int from = 0; from < s.count(); from += 256) {
            int[] idx = range(from, Math.min(256, s.count() - from));
            try (NDScope scope = new NDScope()) {
                NDArray f = net.forwardFeatures(net.preprocess(batch(s, idx, manager))); // [B, D]
                float[] flat = f.toFloatArray();
                int d = net.dim();
                long[] pc = net.classLogits(f).argMax(1).toLongArray();
                long[] ps = net.config().hasStyles() ? net.styleLogits(f).argMax(1).toLongArray() : null;
                for (int i = 0; i < idx.length; i++) {
                    int st = s.style()[idx[i]];
                    double[] row = new double[d];
                    for (int j = 0; j < d; j++) {
                        row[j] = flat[i * d + j];
                    }
                    if (st == 0) {
                        a.add(new double[][] {row});
                    } else if (st == 1) {
                        b.add(new double[][] {row});
                    }
                    hitC += pc[i] == s.category()[idx[i]] ? 1 : 0;
                    hitS += ps != null && ps[i] == st ? 1 : 0;
                }
            }
        }
        double fid = FidStats.compare(a, b).fid();
        return new Separation(hitC / (double) s.count(), net.config().hasStyles() ? hitS / (double) s.count() : Double.NaN,
                fid, a.count(), b.count());
    }

    /** Top-1 accuracy of both heads on {@code s}, in batches, without gradients. */
    static double[] accuracy(DomainClassifier net, Samples s, NDManager manager) {
        int hitC = 0;
        int hitS = 0;
        for (int from = 0; from < s.count(); from += 256) {
            int[] idx = range(from, Math.min(256, s.count() - from));
            try (NDScope scope = new NDScope()) {
                NDArray f = net.forwardFeatures(net.preprocess(batch(s, idx, manager)));
                long[] pc = net.classLogits(f).argMax(1).toLongArray();
                long[] ps = net.subclassLogits(f).argMax(1).toLongArray();
                for (int i = 0; i < idx.length; i++) {
                    hitC += pc[i] == s.category()[idx[i]] ? 1 : 0;
                    hitS += ps[i] == s.subcategory()[idx[i]] ? 1 : 0;
                }
            }
        }
        return new double[] {hitC / (double) s.count(), hitS / (double) s.count()};
    }

    static void save(Path out, DomainClassifierConfig config, Map<String, NDArray> params) throws IOException {
        SafeTensorsWriter w = new SafeTensorsWriter().metadata("format", "pt").metadata("type", DomainClassifierConfig.TYPE);
        for (Map.Entry<String, NDArray> p : params.entrySet()) {
            w.add(p.getKey(), p.getValue());
        }
        Files.createDirectories(out);
        w.write(out.resolve(DomainClassifier.WEIGHTS));
        AtomicFiles.writeString(out.resolve(DomainClassifier.CONFIG), config.toJson());
    }

    private static void writeMetrics(Path file, Result r, Options o, List<String> styles) throws IOException {
        JsonObject m = new JsonObject();
        m.addProperty("styles", String.join(",", styles));
        m.addProperty("train_images", r.trainImages());
        m.addProperty("heldout_images", r.heldoutImages());
        m.addProperty("heldout_category_accuracy", r.heldoutCategoryAccuracy());
        m.addProperty("heldout_subcategory_accuracy", r.heldoutSubcategoryAccuracy());
        m.addProperty("train_category_accuracy", r.trainCategoryAccuracy());
        m.addProperty("last_epoch_loss", r.lastEpochLoss());
        if (r.heldout() != null) {
            if (!Double.isNaN(r.heldout().styleAccuracy())) {
                m.addProperty("heldout_style_accuracy", r.heldout().styleAccuracy());
            }
            m.addProperty("heldout_style_fid", r.heldout().styleFid());
            m.addProperty("heldout_style_fid_samples", r.heldout().samplesA() + "," + r.heldout().samplesB());
        }
        m.addProperty("style_weight", o.styleWeight());
        m.addProperty("seconds", r.seconds());
        m.addProperty("epochs", o.epochs());
        m.addProperty("batch_size", o.batchSize());
        m.addProperty("learning_rate", o.learningRate());
        m.addProperty("weight_decay", o.weightDecay());
        m.addProperty("seed", o.seed());
        AtomicFiles.writeString(file, new GsonBuilder().setPrettyPrinting().create().toJson(m) + "\n");
    }

    /** Every manifest row of {@code styles} with its image file and style index. */
    record Labelled(List<JsonObject> rows, List<Path> files, List<Integer> style) {}

    static Labelled read(Path data, List<String> styles) throws IOException {
        List<JsonObject> rows = new ArrayList<>();
        List<Path> files = new ArrayList<>();
        List<Integer> style = new ArrayList<>();
        for (int k = 0; k < styles.size(); k++) {
            Path manifest = data.resolve(styles.get(k)).resolve("manifest-32.jsonl");
            if (!Files.isRegularFile(manifest)) {
                throw new IOException(manifest + ": not found (build the data with `lcm data emoji`)");
            }
            for (JsonObject r : EmojiManifest.readManifest(manifest)) {
                rows.add(r);
                files.add(manifest.getParent().resolve(r.get("image").getAsString()));
                style.add(k);
            }
        }
        return new Labelled(rows, files, style);
    }

    private static Samples samples(Labelled all, String split, List<String> categories, List<String> subcategories)
            throws IOException {
        List<JsonObject> rows = all.rows();
        List<Path> files = all.files();
        List<Integer> sel = new ArrayList<>();
        for (int i = 0; i < rows.size(); i++) {
            if (split.equals(rows.get(i).get("split").getAsString())) {
                sel.add(i);
            }
        }
        if (sel.isEmpty()) {
            throw new IOException("no '" + split + "' images in the manifests");
        }
        List<BufferedImage> images = new ArrayList<>();
        List<Path> names = new ArrayList<>();
        int[] cat = new int[sel.size()];
        int[] sub = new int[sel.size()];
        int[] sty = new int[sel.size()];
        for (int k = 0; k < sel.size(); k++) {
            int i = sel.get(k);
            images.add(ImageFolder.read(files.get(i)));
            names.add(files.get(i));
            cat[k] = categories.indexOf(rows.get(i).get("category").getAsString());
            sub[k] = subcategories.indexOf(rows.get(i).get("subcategory").getAsString());
            sty[k] = all.style().get(i);
        }
        int size = images.get(0).getWidth();
        if (images.get(0).getHeight() != size) {
            throw new IOException(names.get(0) + ": not square");
        }
        byte[] pixels;
        try (NDManager m = NDManager.newBaseManager()) {
            pixels = ImageFolder.load(images, names, m).toByteArray(); // [N, 3, S, S]; other sizes are errors
        }
        return new Samples(pixels, size, cat, sub, sty);
    }

    /** uint8 [B, 3, S, S] of the samples at {@code idx}. */
    private static NDArray batch(Samples s, int[] idx, NDManager manager) {
        int one = 3 * s.size() * s.size();
        byte[] b = new byte[idx.length * one];
        for (int i = 0; i < idx.length; i++) {
            System.arraycopy(s.pixels(), idx[i] * one, b, i * one, one);
        }
        return manager.create(ByteBuffer.wrap(b), new Shape(idx.length, 3, s.size(), s.size()), DataType.UINT8);
    }

    private static int[] range(int from, int n) {
        int[] idx = new int[n];
        for (int i = 0; i < n; i++) {
            idx[i] = from + i;
        }
        return idx;
    }

    private static int[] pick(int[] labels, int[] idx) {
        int[] out = new int[idx.length];
        for (int i = 0; i < idx.length; i++) {
            out[i] = labels[idx[i]];
        }
        return out;
    }

    private static int[] permutation(int n, Random rng) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }
}
