package io.lcmlora.train.eval;

import io.lcmlora.eval.DomainClassifier;
import io.lcmlora.eval.DomainClassifierConfig;
import io.lcmlora.eval.FeatureExtractor;
import io.lcmlora.eval.InceptionV3Fid;
import io.lcmlora.eval.Preprocessing;
import io.lcmlora.train.config.EvalConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The feature extractors a sweep config can name by {@code features.type}. {@link #standard()} knows
 * {@code inception} (pytorch-fid's InceptionV3, the FID), {@value DomainClassifierConfig#TYPE} (a {@link DomainClassifier}
 * folder, the demo's domain features) and {@code pixels} ({@link PixelProjection}, a weight-free smoke-test
 * extractor); other extractors (a TorchScript module) are added with {@link #with}.
 */
public final class FeatureExtractors {
    /** Opens an extractor from the {@code features} section. */
    @FunctionalInterface
    public interface Factory {
        FeatureExtractor open(EvalConfig.FeaturesConfig config) throws IOException;
    }

    private final Map<String, Factory> factories;

    private FeatureExtractors(Map<String, Factory> factories) {
        this.factories = factories;
    }

    /** The extractors every build has. */
    public static FeatureExtractors standard() {
        Map<String, Factory> m = new LinkedHashMap<>();
        m.put("inception", FeatureExtractors::inception);
        m.put("pixels", c -> new PixelProjection(c.dims()));
        m.put(DomainClassifierConfig.TYPE, FeatureExtractors::domainClassifier);
        return new FeatureExtractors(m);
    }

    /** A copy that also knows {@code type} (replacing an existing factory of that name). */
    public FeatureExtractors with(String type, Factory factory) {
        Map<String, Factory> m = new LinkedHashMap<>(factories);
        m.put(type, factory);
        return new FeatureExtractors(m);
    }

    public FeatureExtractor open(EvalConfig.FeaturesConfig config) throws IOException {
        Factory f = factories.get(config.type());
        if (f == null) {
            throw new IllegalArgumentException("features.type: unknown extractor '" + config.type() + "', expected one of "
                    + factories.keySet());
        }
        return f.open(config);
    }

    private static FeatureExtractor domainClassifier(EvalConfig.FeaturesConfig c) throws IOException {
        if (c.weights() == null) {
            throw new IllegalArgumentException("features.weights: the " + DomainClassifierConfig.TYPE + " extractor needs "
                    + "the classifier folder (config.json + model.safetensors)");
        }
        DomainClassifier net = DomainClassifier.load(Path.of(c.weights()));
        if (net.dim() != c.dims()) {
            int d = net.dim();
            net.close();
            throw new IllegalArgumentException("features.dims: the classifier in " + c.weights() + " has " + d
                    + "-d features; set dims: " + d);
        }
        return net;
    }

    private static FeatureExtractor inception(EvalConfig.FeaturesConfig c) throws IOException {
        if (c.weights() == null) {
            throw new IllegalArgumentException("features.weights: the inception extractor needs the FID InceptionV3 "
                    + "weights (pt_inception-2015-12-05 converted by tools/convert_inception_weights.py)");
        }
        return InceptionV3Fid.load(Path.of(c.weights()), c.dims(), Preprocessing.parse(c.preprocessing()));
    }
}
