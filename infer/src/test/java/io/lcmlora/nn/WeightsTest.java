package io.lcmlora.nn;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.lcmlora.io.ModelWeights;
import io.lcmlora.model.unet.UNet2DConditionConfig;
import io.lcmlora.model.unet.UNet2DConditionModel;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The loader checks keys and shapes both ways and names the key (and both shapes) on failure. */
class WeightsTest {
    static final Path UNET = Path.of(System.getProperty("golden.dir"), "unet");

    static Map<String, NDArray> golden(NDManager m) throws Exception {
        return new LinkedHashMap<>(ModelWeights.load(UNET, null, m, DataType.FLOAT32));
    }

    @Test
    void missingParameterIsNamed() throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> w = golden(m);
            w.remove("mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight");
            var e = assertThrows(Weights.WeightsException.class,
                    () -> new UNet2DConditionModel(Weights.of(m, w, "f.safetensors"), UNet2DConditionConfig.tiny()));
            assertTrue(e.getMessage().contains("mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight"), e.getMessage());
            assertTrue(e.getMessage().contains("f.safetensors"), e.getMessage());
        }
    }

    @Test
    void shapeMismatchNamesKeyAndBothShapes() throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> w = golden(m);
            w.put("conv_in.weight", m.zeros(new ai.djl.ndarray.types.Shape(16, 4, 1, 1)));
            var e = assertThrows(Weights.WeightsException.class,
                    () -> new UNet2DConditionModel(Weights.of(m, w, "f.safetensors"), UNet2DConditionConfig.tiny()));
            assertTrue(e.getMessage().contains("conv_in.weight") && e.getMessage().contains("[16, 4, 1, 1]")
                    && e.getMessage().contains("[16, 4, 3, 3]"), e.getMessage());
        }
    }

    @Test
    void unusedFileKeysAreListed() throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> w = golden(m);
            w.put("down_blocks.0.resnets.7.conv1.weight", m.zeros(new ai.djl.ndarray.types.Shape(1)));
            Weights vb = Weights.of(m, w, "f.safetensors");
            new UNet2DConditionModel(vb, UNet2DConditionConfig.tiny());
            var e = assertThrows(Weights.WeightsException.class, () -> vb.checkAllUsed(Set.of()));
            assertTrue(e.getMessage().contains("down_blocks.0.resnets.7.conv1.weight"), e.getMessage());
        }
    }

    @Test
    void everyGoldenKeyIsUsedAndEveryLayerRegistered() throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            Weights vb = Weights.of(m, golden(m), "golden");
            UNet2DConditionModel u = new UNet2DConditionModel(vb, UNet2DConditionConfig.tiny());
            vb.checkAllUsed(Set.of());
            assertTrue(u.layers().containsKey("down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_out.0"));
            assertTrue(u.layers().containsKey("up_blocks.0.upsamplers.0.conv"));
        }
    }
}
