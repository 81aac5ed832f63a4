package io.lcmlora.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.lcmlora.io.SafeTensorsFile;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The Java port of the golden weight generator reproduces the spot-checked values bit for bit. */
class GoldenInceptionWeightsTest {
    private static final Path GOLDEN = Path.of(System.getProperty("golden.dir"));

    @Test
    void generatorMatchesSpotcheckForEveryTensor() throws Exception {
        Map<String, long[]> index = GoldenInceptionWeights.index(GOLDEN);
        assertEquals(470, index.size());
        long total = index.values().stream().mapToLong(GoldenInceptionWeights::numel).sum();
        assertEquals(21_820_000L, total);
        try (SafeTensorsFile spot = SafeTensorsFile.open(GOLDEN.resolve("fid/inception_weight_spotcheck.safetensors"))) {
            assertEquals(index.keySet(), spot.tensors().keySet());
            for (Map.Entry<String, long[]> e : index.entrySet()) {
                float[] expected = spot.floats(e.getKey());
                assertArrayEquals(expected, GoldenInceptionWeights.values(e.getKey(), e.getValue(), expected.length), 0f, e.getKey());
            }
        }
    }
}
