package io.lcmlora.train.pretrain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.lcmlora.engine.Precision;
import io.lcmlora.io.DType;
import io.lcmlora.train.config.ConfigException;
import io.lcmlora.train.config.RecordYaml;
import java.util.List;
import org.junit.jupiter.api.Test;

/** train.save_dtype is the project's one precision enum: the YAML values of before, and bf16, give these file dtypes. */
class PretrainConfigTest {
    static PretrainConfig parse(String saveDtype) {
        return RecordYaml.parse("stage: vae\ntrain: {save_dtype: " + saveDtype + "}\n", PretrainConfig.class,
                PretrainConfig.defaults(), List.of());
    }

    @Test
    void saveDtypeValuesMapToTheWrittenFileDtype() {
        assertEquals(Precision.FP16, PretrainConfig.defaults().train().saveDtype(), "default");
        String[] yaml = {"fp32", "fp16", "bf16", "FP16"};
        Precision[] want = {Precision.FP32, Precision.FP16, Precision.BF16, Precision.FP16};
        DType[] file = {DType.F32, DType.F16, DType.BF16, DType.F16};
        for (int i = 0; i < yaml.length; i++) {
            PretrainConfig c = parse(yaml[i]);
            assertEquals(want[i], c.train().saveDtype(), yaml[i]);
            assertEquals(file[i], VaeTrainer.dtype(c.train()), yaml[i]);
        }
        ConfigException e = assertThrows(ConfigException.class, () -> parse("int8"));
        assertEquals("train.save_dtype: expected one of fp32|fp16|bf16, got string 'int8'", e.getMessage());
    }
}
