package io.lcmlora.train.distill;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.lcmlora.model.unet.UNet2DConditionModel;
import io.lcmlora.schedule.NoiseSchedule;
import io.lcmlora.schedule.SchedulerConfig;
import io.lcmlora.train.config.LoraConfig;
import io.lcmlora.train.config.TrainConfig;
import io.lcmlora.train.loop.Rng;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** PEFT's LoRA initialisation, seeded; fp16 compute copies of fp32 masters train like fp32. */
@ExtendWith(OneEngineThread.class)
class TrainableLoraTest {
    static final Path UNET = TinyRun.ROOT.resolve("testdata/golden/unet");

    @Test
    void kaimingUniformAMatrixZeroBSeeded() throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            UNet2DConditionModel unet = UNet2DConditionModel.load(UNET, null, m, DataType.FLOAT32);
            LoraConfig cfg = new LoraConfig(4, 4, 0, LoraConfig.LCM_TARGET_MODULES, LoraConfig.Init.KAIMING_UNIFORM);
            try (TrainableLora a = TrainableLora.create(unet.layers(), cfg, Rng.seeded(1), m, DataType.FLOAT32);
                    TrainableLora b = TrainableLora.create(unet.layers(), cfg, Rng.seeded(1), m, DataType.FLOAT32);
                    TrainableLora c = TrainableLora.create(unet.layers(), cfg, Rng.seeded(2), m, DataType.FLOAT32)) {
                assertEquals(258, a.modules().size());
                assertFalse(a.mixedPrecision());
                Map<String, float[]> va = a.values();
                assertEquals(b.values().keySet(), va.keySet());
                b.values().forEach((k, v) -> assertArrayEquals(va.get(k), v, k));
                String a0 = "down_blocks.0.resnets.0.conv1.lora_A.weight";
                assertFalse(java.util.Arrays.equals(va.get(a0), c.values().get(a0)), "another seed, another A");
                // torch.nn.init.kaiming_uniform_(w, a=sqrt(5)): gain = sqrt(2 / (1 + a^2)), bound = sqrt(3) * gain / sqrt(fan_in)
                double gain = Math.sqrt(2.0 / (1 + 5));
                String conv = "down_blocks.0.resnets.0.conv1"; // A [4, 16, 3, 3]: fan_in 144
                String lin = "down_blocks.1.attentions.0.transformer_blocks.0.ff.net.0.proj"; // A [4, 32]: fan_in 32
                for (String module : List.of(conv, lin)) {
                    NDArray aw = a.masters().get(module + ".lora_A.weight");
                    long fanIn = aw.getShape().size() / 4;
                    double bound = Math.sqrt(3) * gain / Math.sqrt(fanIn);
                    float[] v = aw.toFloatArray();
                    double max = 0;
                    double sq = 0;
                    for (float x : v) {
                        max = Math.max(max, Math.abs(x));
                        sq += x * x;
                    }
                    assertTrue(max <= bound && max > 0.85 * bound, module + ": max " + max + " vs bound " + bound);
                    double var = sq / v.length;
                    assertEquals(bound * bound / 3, var, 0.35 * bound * bound / 3, module + " variance of U(-b, b)");
                    assertEquals(0.0, a.masters().get(module + ".lora_B.weight").abs().max().getFloat());
                }
                assertEquals(new Shape(4, 16, 3, 3), a.masters().get(conv + ".lora_A.weight").getShape());
                assertEquals(new Shape(16, 4, 1, 1), a.masters().get(conv + ".lora_B.weight").getShape());
            }
            LoraConfig gauss = new LoraConfig(8, 8, 0, List.of("ff.net.0.proj"), LoraConfig.Init.GAUSSIAN);
            try (TrainableLora g = TrainableLora.create(unet.layers(), gauss, Rng.seeded(3), m, DataType.FLOAT32)) {
                double sq = 0;
                long n = 0;
                for (var e : g.values().entrySet()) {
                    if (e.getKey().endsWith("lora_A.weight")) {
                        for (float x : e.getValue()) {
                            sq += x * x;
                            n++;
                        }
                    }
                }
                assertEquals(1.0 / 8, Math.sqrt(sq / n), 0.1 / 8, "PEFT gaussian: std 1 / rank");
            }
        }
    }

    @Test
    void fp16ComputeCopiesGiveTheFp32UpdateWithinHalfPrecision() throws IOException {
        TrainConfig config = TrainConfig.parse("lora: {rank: 4, alpha: 4.0}\ndistill: {train_batch_size: 1}\n"
                + "optim: {learning_rate: 1.0e-3}\nprecision: {device: cpu, weights_dtype: fp16, loss_scale: 1024.0}\n");
        float[][] loss = new float[2][];
        double[][] norm = new double[2][2];
        float[][] b = new float[2][];
        String name = "mid_block.attentions.0.transformer_blocks.0.attn1.to_q.lora_B.weight";
        for (int k = 0; k < 2; k++) {
            DataType t = k == 0 ? DataType.FLOAT32 : DataType.FLOAT16;
            try (NDManager m = NDManager.newBaseManager()) {
                UNet2DConditionModel unet = UNet2DConditionModel.load(UNET, null, m, t);
                try (LoraTrainer trainer = new LoraTrainer(unet, NoiseSchedule.of(SchedulerConfig.sdxl()), config, m)) {
                    assertEquals(k == 1, trainer.lora().mixedPrecision());
                    loss[k] = new float[2];
                    for (int s = 0; s < 2; s++) {
                        Rng r = Rng.seeded(10 + s);
                        LoraTrainer.Update u = trainer.update(i -> new LoraTrainer.Micro(new LcdStep.Batch(r.randn(m, new Shape(1, 4, 8, 8)),
                                r.randn(m, new Shape(1, 77, 64)), r.randn(m, new Shape(1, 32)),
                                m.create(new float[] {64, 64, 0, 0, 64, 64}, new Shape(1, 6))),
                                new LcdStep.Draws(new long[] {30}, r.randn(m, new Shape(1, 4, 8, 8)), new float[] {7.5f})),
                                1e-3, s + 1, false);
                        loss[k][s] = u.loss();
                        norm[k][s] = u.gradNorm();
                    }
                    assertEquals(DataType.FLOAT32, trainer.lora().masters().get(name).getDataType());
                    b[k] = trainer.lora().masters().get(name).toFloatArray();
                }
            }
        }
        assertEquals(loss[0][0], loss[1][0], 0.02 * loss[0][0], "step 1 loss fp16 vs fp32");
        assertEquals(loss[0][1], loss[1][1], 0.02 * loss[0][1], "step 2 loss (after an fp16-trained update)");
        for (int s = 0; s < 2; s++) {
            assertEquals(norm[0][s], norm[1][s], 0.05 * norm[0][s], "gradient norm, unscaled from loss scale 1024");
        }
        // Adam moves each entry by about lr * sign(g): entries with a near-zero gradient may flip under fp16
        // rounding, the update as a whole must not
        double dot = 0;
        double n0 = 0;
        double n1 = 0;
        for (int i = 0; i < b[0].length; i++) {
            dot += b[0][i] * b[1][i];
            n0 += b[0][i] * b[0][i];
            n1 += b[1][i] * b[1][i];
        }
        double cos = dot / Math.sqrt(n0 * n1);
        assertTrue(n0 > 0 && cos > 0.8, "cosine of the fp16 and fp32 updates of " + name + ": " + cos);
    }
}
