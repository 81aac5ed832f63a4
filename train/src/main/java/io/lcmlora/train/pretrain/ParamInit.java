package io.lcmlora.train.pretrain;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.lcmlora.model.clip.ClipTextConfig;
import io.lcmlora.nn.Weights;
import io.lcmlora.train.loop.Rng;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.ToDoubleFunction;

/**
 * From-scratch parameters for the models of this toolkit, drawn in Java from a seeded {@link Rng} (so a run is
 * reproducible on any machine), each under its checkpoint key with the shape the model asks for.
 */
final class ParamInit {
    private ParamInit() {}

    /** The parameter shapes {@code build} requests, by checkpoint key, in request order. */
    static Map<String, long[]> shapes(Consumer<Weights> build) {
        try (NDManager tmp = NDManager.newBaseManager()) {
            Weights rec = Weights.shapesOnly(tmp);
            build.accept(rec);
            return new LinkedHashMap<>(rec.requested());
        }
    }

    /**
     * torch's default initialisation of {@code nn.Conv2d} / {@code nn.Linear} (kaiming_uniform with a = sqrt(5),
     * i.e. weight and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in_channels * k * k) and of
     * {@code nn.GroupNorm} / {@code nn.LayerNorm} (1 and 0): what a diffusers UNet or VAE starts from. One-dimensional
     * weights are the norms' scales.
     */
    static Map<String, NDArray> torchDefault(NDManager manager, Map<String, long[]> shapes, Rng rng) {
        return draw(manager, shapes, key -> {
            long[] s = shapes.get(key);
            if (s.length == 1) {
                long[] w = shapes.get(sibling(key, "weight"));
                if (key.endsWith(".weight") || w == null || w.length == 1) {
                    return Double.NaN; // a norm: filled below
                }
                return -1 / Math.sqrt(fanIn(w)); // negative = uniform bound
            }
            return -1 / Math.sqrt(fanIn(s));
        }, rng);
    }

    /**
     * transformers' {@code CLIPPreTrainedModel._init_weights} (initializer_factor 1): embeddings N(0, 0.02); q/k/v
     * and fc2 N(0, hidden^-0.5 (2 layers)^-0.5); out_proj and text_projection N(0, hidden^-0.5); fc1
     * N(0, (2 hidden)^-0.5); linear biases 0; LayerNorm 1 and 0.
     */
    static Map<String, NDArray> clip(NDManager manager, Map<String, long[]> shapes, ClipTextConfig c, Rng rng) {
        double hidden = c.hiddenSize();
        double inProj = Math.pow(hidden, -0.5) * Math.pow(2.0 * c.numHiddenLayers(), -0.5);
        return draw(manager, shapes, key -> {
            if (key.contains("layer_norm")) {
                return Double.NaN;
            }
            if (key.endsWith(".bias")) {
                return 0.0;
            }
            if (key.contains("_embedding.")) {
                return 0.02;
            }
            if (key.contains("q_proj.") || key.contains("k_proj.") || key.contains("v_proj.") || key.contains("fc2.")) {
                return inProj;
            }
            if (key.contains("fc1.")) {
                return Math.pow(2 * hidden, -0.5);
            }
            if (key.contains("out_proj.") || key.startsWith("text_projection.")) {
                return Math.pow(hidden, -0.5);
            }
            throw new IllegalStateException("no CLIP init rule for '" + key + "'");
        }, rng);
    }

    /**
     * Fills every parameter by its rule: NaN = a norm (weight 1, bias 0), a negative value b = U(b, -b), a
     * positive value = N(0, value^2), 0 = zeros. Parameters are fp32 and require gradients.
     */
    private static Map<String, NDArray> draw(NDManager manager, Map<String, long[]> shapes, ToDoubleFunction<String> rule,
            Rng rng) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            String key = e.getKey();
            float[] v = new float[Math.toIntExact(new Shape(e.getValue()).size())];
            double r = rule.applyAsDouble(key);
            if (Double.isNaN(r)) {
                java.util.Arrays.fill(v, key.endsWith(".weight") ? 1f : 0f);
            } else if (r < 0) {
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) rng.uniform(r, -r);
                }
            } else if (r > 0) {
                rng.fillGaussian(v);
                for (int i = 0; i < v.length; i++) {
                    v[i] *= (float) r;
                }
            }
            NDArray p = manager.create(v, new Shape(e.getValue()));
            p.setRequiresGradient(true);
            out.put(key, p);
        }
        return out;
    }

    private static String sibling(String key, String name) {
        return key.substring(0, key.lastIndexOf('.') + 1) + name;
    }

    private static long fanIn(long[] weightShape) {
        long n = 1;
        for (int i = 1; i < weightShape.length; i++) {
            n *= weightShape[i];
        }
        return n;
    }
}
