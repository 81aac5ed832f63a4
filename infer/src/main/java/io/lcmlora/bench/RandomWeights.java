package io.lcmlora.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.lcmlora.nn.Weights;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

/** Random weights of exactly the shapes a model asks for (benchmarks and smoke runs without checkpoints). */
public final class RandomWeights {
    private RandomWeights() {}

    /**
     * Records the shapes {@code build} requests, then returns weights of those shapes drawn from N(0, std^2)
     * (biases and norm scales too: benchmarks care about cost, not quality).
     */
    public static Weights of(NDManager manager, Consumer<Weights> build, double std, DataType dtype) {
        try (NDManager tmp = NDManager.newBaseManager()) {
            Weights shapes = Weights.shapesOnly(tmp);
            build.accept(shapes);
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            for (var e : shapes.requested().entrySet()) {
                tensors.put(e.getKey(), manager.randomNormal(0f, (float) std, new Shape(e.getValue()), dtype));
            }
            return Weights.of(manager, tensors, "<random>");
        }
    }
}
