package io.lcmlora.train.distill;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.lcmlora.engine.EngineFeatures;
import io.lcmlora.model.unet.UNet2DConditionModel;
import io.lcmlora.pipeline.LoadOptions;
import io.lcmlora.schedule.NoiseSchedule;
import io.lcmlora.schedule.SchedulerConfig;
import io.lcmlora.train.config.ConfigException;
import io.lcmlora.train.config.TrainConfig;
import io.lcmlora.train.loop.Rng;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The parts of the fp16/bf16 training path that need no GPU: overflow skipping with the dynamic loss scale, fp32
 * masters untouched by a skipped update, the VAE kept in fp32, bf16 accepted only on a JNI that supports it.
 */
@ExtendWith(OneEngineThread.class)
class HalfPrecisionPathTest {
    static final Path UNET = TinyRun.ROOT.resolve("testdata/golden/unet");

    private static LoraTrainer.Update step(LoraTrainer trainer, NDManager m, int seed) {
        Rng r = Rng.seeded(seed);
        return trainer.update(i -> new LoraTrainer.Micro(new LcdStep.Batch(r.randn(m, new Shape(1, 4, 8, 8)),
                r.randn(m, new Shape(1, 77, 64)), r.randn(m, new Shape(1, 32)),
                m.create(new float[] {64, 64, 0, 0, 64, 64}, new Shape(1, 6))),
                new LcdStep.Draws(new long[] {30}, r.randn(m, new Shape(1, 4, 8, 8)), new float[] {7.5f})), 1e-3, seed, false);
    }

    /**
     * loss_scale 2^24 overflows fp16 (max 65504) in backward: each such update is skipped with the fp32 masters
     * bit-identical, and the scale halves until the gradients are finite; the first finite update then moves them.
     */
    @Test
    void fp16OverflowSkipsTheUpdateAndHalvesTheScaleUntilFinite() throws IOException {
        TrainConfig config = TrainConfig.parse("lora: {rank: 4, alpha: 4.0}\ndistill: {train_batch_size: 1}\n"
                + "optim: {learning_rate: 1.0e-3}\nprecision: {device: cpu, weights_dtype: fp16, loss_scale: 16777216.0}\n");
        try (NDManager m = NDManager.newBaseManager()) {
            UNet2DConditionModel unet = UNet2DConditionModel.load(UNET, null, m, DataType.FLOAT16);
            try (LoraTrainer trainer = new LoraTrainer(unet, NoiseSchedule.of(SchedulerConfig.sdxl()), config, m)) {
                assertTrue(trainer.scaler().isDynamic());
                String name = trainer.lora().masters().keySet().iterator().next();
                double scale = 16777216.0;
                int skipped = 0;
                LoraTrainer.Update u;
                do {
                    float[] before = trainer.lora().masters().get(name).toFloatArray();
                    u = step(trainer, m, 1);
                    if (u.skipped()) {
                        skipped++;
                        assertFalse(Double.isFinite(u.gradNorm()), "a skipped update had a non-finite norm");
                        assertArrayEquals(before, trainer.lora().masters().get(name).toFloatArray(), "skipped: masters kept");
                        scale /= 2;
                        assertEquals(scale, trainer.scaler().scale());
                    }
                } while (u.skipped() && skipped < 30);
                assertTrue(skipped >= 1, "2^24 must overflow fp16 gradients at least once");
                assertFalse(u.skipped(), "the scale fell to " + trainer.scaler().scale() + " without a finite update");
                assertTrue(Double.isFinite(u.gradNorm()) && u.gradNorm() > 0);
                assertEquals(DataType.FLOAT32, trainer.lora().masters().get(name).getDataType());
                System.out.println("fp16 overflow: " + skipped + " updates skipped, first finite at scale "
                        + trainer.scaler().scale() + ", grad norm " + u.gradNorm());
            }
        }
    }

    /** fp32 never scales: the loss multiplier is 1 and a finite update is applied. */
    @Test
    void fp32TrainsWithoutAScaler() throws IOException {
        TrainConfig config = TrainConfig.parse("lora: {rank: 4, alpha: 4.0}\ndistill: {train_batch_size: 1}\n"
                + "optim: {learning_rate: 1.0e-3}\nprecision: {device: cpu, weights_dtype: fp32, loss_scale: 16777216.0}\n");
        try (NDManager m = NDManager.newBaseManager()) {
            UNet2DConditionModel unet = UNet2DConditionModel.load(UNET, null, m, DataType.FLOAT32);
            try (LoraTrainer trainer = new LoraTrainer(unet, NoiseSchedule.of(SchedulerConfig.sdxl()), config, m)) {
                assertFalse(trainer.scaler().isDynamic());
                assertEquals(1.0, trainer.scaler().scale());
                LoraTrainer.Update u = step(trainer, m, 1);
                assertFalse(u.skipped());
                assertTrue(Double.isFinite(u.gradNorm()));
            }
        }
    }

    /** The VAE stays fp32 whatever the UNet/text-encoder dtype (SDXL's VAE overflows in fp16). */
    @Test
    void theVaeIsKeptInFp32() {
        LoadOptions o = LoadOptions.on(Device.gpu(), DataType.FLOAT16);
        assertEquals(DataType.FLOAT16, o.unet().dtype());
        assertEquals(DataType.FLOAT16, o.textEncoders().dtype());
        assertEquals(DataType.FLOAT32, o.vae().dtype());
        assertEquals("fp16", o.variant());
    }

    /** fp16 frozen weights apply to GPU runs; bf16 is used on any device when the JNI supports it, else refused. */
    @Test
    void weightsDtypeFollowsDeviceAndEngine() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(buf, true);
        TrainConfig fp16 = TrainConfig.parse("precision: {device: cpu, weights_dtype: fp16}\n");
        assertEquals(DataType.FLOAT32, Distiller.weightsType(fp16.precision(), Device.cpu(), out));
        assertTrue(buf.toString().contains("weights_dtype fp16 applies to GPU runs"), buf.toString());
        assertEquals(DataType.FLOAT16, Distiller.weightsType(fp16.precision(), Device.gpu(), out));
        TrainConfig bf16 = TrainConfig.parse("precision: {device: cpu, weights_dtype: bf16}\n");
        if (EngineFeatures.bf16()) {
            assertEquals(DataType.BFLOAT16, Distiller.weightsType(bf16.precision(), Device.cpu(), out));
        } else {
            var e = assertThrows(ConfigException.class, () -> Distiller.weightsType(bf16.precision(), Device.cpu(), out));
            assertEquals("precision.weights_dtype", e.key());
            assertTrue(e.getMessage().contains("tools/build-jni.sh"), e.getMessage());
        }
        assertEquals(Device.cpu(), io.lcmlora.train.parallel.World.single().device(TrainConfig.parse("precision: {device: auto}\n").precision()));
        var none = assertThrows(ConfigException.class,
                () -> io.lcmlora.train.parallel.World.single().device(TrainConfig.parse("precision: {device: gpu}\n").precision()));
        assertEquals("precision.device", none.key());
    }

    /** On a bf16-capable JNI, a bf16 LoRA update matches the fp32 one within bf16 precision (no loss scaling). */
    @Test
    void bf16ComputeCopiesTrackTheFp32UpdateWhenSupported() throws IOException {
        if (!EngineFeatures.bf16()) {
            assertThrows(IllegalArgumentException.class, () -> EngineFeatures.requireBf16("bf16 LoRA"));
            return;
        }
        TrainConfig config = TrainConfig.parse("lora: {rank: 4, alpha: 4.0}\ndistill: {train_batch_size: 1}\n"
                + "optim: {learning_rate: 1.0e-3}\nprecision: {device: cpu, weights_dtype: bf16}\n");
        float[] loss = new float[2];
        double[] norm = new double[2];
        DataType[] types = {DataType.FLOAT32, DataType.BFLOAT16};
        for (int k = 0; k < 2; k++) {
            try (NDManager m = NDManager.newBaseManager()) {
                UNet2DConditionModel unet = UNet2DConditionModel.load(UNET, null, m, types[k]);
                try (LoraTrainer trainer = new LoraTrainer(unet, NoiseSchedule.of(SchedulerConfig.sdxl()), config, m)) {
                    assertEquals(k == 1, trainer.lora().mixedPrecision());
                    assertFalse(trainer.scaler().isDynamic(), "bf16 needs no loss scaling");
                    LoraTrainer.Update u = step(trainer, m, 3);
                    loss[k] = u.loss();
                    norm[k] = u.gradNorm();
                    Map<String, ai.djl.ndarray.NDArray> masters = trainer.lora().masters();
                    assertEquals(DataType.FLOAT32, masters.values().iterator().next().getDataType());
                }
            }
        }
        assertEquals(loss[0], loss[1], 0.05 * loss[0], "bf16 vs fp32 loss");
        assertEquals(norm[0], norm[1], 0.1 * norm[0], "bf16 vs fp32 gradient norm");
        System.out.println("bf16 vs fp32: loss " + loss[1] + " / " + loss[0] + ", grad norm " + norm[1] + " / " + norm[0]);
    }
}
