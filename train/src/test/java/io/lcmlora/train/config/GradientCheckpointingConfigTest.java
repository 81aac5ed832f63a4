package io.lcmlora.train.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lcmlora.model.unet.GradientCheckpointing;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code distill.gradient_checkpointing}: YAML booleans and the granularity names, and a clear error otherwise. */
class GradientCheckpointingConfigTest {
    static GradientCheckpointing bind(String value) {
        return TrainConfig.parse("", List.of("distill.gradient_checkpointing=" + value)).distill().gradientCheckpointing();
    }

    @Test
    void booleansAndGranularitiesBind() {
        assertEquals(GradientCheckpointing.OFF, TrainConfig.defaults().distill().gradientCheckpointing());
        assertEquals(GradientCheckpointing.OFF, bind("false"));
        assertEquals(GradientCheckpointing.BLOCKS, bind("true"));
        assertEquals(GradientCheckpointing.BLOCKS, bind("blocks"));
        assertEquals(GradientCheckpointing.TRANSFORMER, bind("transformer"));
        assertEquals(GradientCheckpointing.OFF, bind("off"));
        assertEquals(GradientCheckpointing.TRANSFORMER,
                TrainConfig.parse("distill: {gradient_checkpointing: transformer}\n").distill().gradientCheckpointing());
    }

    @Test
    void theValueRoundTripsThroughYaml() {
        TrainConfig c = TrainConfig.parse("", List.of("distill.gradient_checkpointing=true"));
        assertEquals(c, TrainConfig.parse(c.toYaml()));
    }

    @Test
    void anythingElseNamesTheKeyAndTheChoices() {
        ConfigException e = assertThrows(ConfigException.class, () -> bind("layers"));
        assertTrue(e.getMessage().contains("distill.gradient_checkpointing"), e.getMessage());
        assertTrue(e.getMessage().contains("blocks|transformer"), e.getMessage());
        assertThrows(ConfigException.class, () -> bind("3"));
    }
}
