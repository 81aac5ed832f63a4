package io.lcmlora.model.unet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.nn.NoGrad;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The no-grad forward that frees each block's intermediates as it goes gives bit-identical outputs to the plain
 * forward, and really frees them (golden tiny UNet, testdata/golden/unet).
 */
class BlockRunnerTest {
    static final Path DIR = Path.of(System.getProperty("golden.dir"), "unet");
    static NDManager manager;
    static UNet2DConditionModel unet;
    static SafeTensorsFile cases;

    @BeforeAll
    static void load() throws Exception {
        manager = NDManager.newBaseManager();
        unet = UNet2DConditionModel.load(DIR, null, manager, DataType.FLOAT32);
        cases = SafeTensorsFile.open(DIR.resolve("cases.safetensors"));
    }

    @AfterAll
    static void close() throws Exception {
        cases.close();
        manager.close();
    }

    static UNet2DConditionModel.Inputs goldenCaseA(NDManager m) throws Exception {
        long[] t = cases.longs("a_timestep");
        double[] d = new double[t.length];
        for (int i = 0; i < t.length; i++) {
            d[i] = t[i];
        }
        return new UNet2DConditionModel.Inputs(cases.load("a_sample", m), d, cases.load("a_encoder_hidden_states", m),
                cases.load("a_text_embeds", m), cases.load("a_time_ids", m));
    }

    /** Plain vs freeing outputs, both no-grad, and the number of arrays each leaves attached to the sample's manager. */
    static void assertBitIdentical(UNet2DConditionModel.Inputs in, NDManager m) {
        try (NoGrad ng = NoGrad.open(); NDManager plainM = m.newSubManager(); NDManager freeM = m.newSubManager()) {
            NDArray plainSample = in.sample().toType(DataType.FLOAT32, true);
            plainSample.attach(plainM);
            NDArray plain = unet.forward(new UNet2DConditionModel.Inputs(plainSample, in.timesteps(),
                    in.encoderHiddenStates(), in.textEmbeds(), in.timeIds()), null, BlockRunner.PLAIN);
            int plainLeft = plainM.getManagedArrays().size() - 1;
            NDArray sample = in.sample().toType(DataType.FLOAT32, true);
            sample.attach(freeM);
            NDArray freed = unet.forward(new UNet2DConditionModel.Inputs(sample, in.timesteps(), in.encoderHiddenStates(),
                    in.textEmbeds(), in.timeIds()));
            int freeLeft = freeM.getManagedArrays().size() - 1;
            assertArrayEquals(plain.getShape().getShape(), freed.getShape().getShape());
            assertTrue(plain.contentEquals(freed), "freeing forward must be bit-identical, max abs "
                    + freed.sub(plain).abs().max().getFloat());
            // the plain forward leaves every intermediate; the freeing one only its output
            assertTrue(plainLeft > 100, plainLeft + " arrays left by the plain forward");
            assertEquals(1, freeLeft, "arrays left by the freeing forward besides its sample");
        }
    }

    @Test
    void freeingForwardIsBitIdenticalOnTheGoldenCase() throws Exception {
        try (NDManager m = manager.newSubManager()) {
            assertBitIdentical(goldenCaseA(m), m);
        }
    }

    @Test
    void freeingForwardIsBitIdenticalWithExplicitUpsampleSizes() throws Exception {
        try (NDManager m = manager.newSubManager()) {
            Engine.getInstance().setRandomSeed(7);
            // 10 x 14 latents: not a multiple of 4, so the up blocks upsample to the skips' sizes
            UNet2DConditionModel.Inputs in = new UNet2DConditionModel.Inputs(m.randomNormal(new Shape(2, 4, 10, 14)),
                    new double[] {999, 3}, m.randomNormal(new Shape(2, 7, 64)), m.randomNormal(new Shape(2, 32)),
                    m.create(new float[] {80, 112, 0, 0, 80, 112, 80, 112, 0, 0, 80, 112}, new Shape(2, 6)));
            assertBitIdentical(in, m);
        }
    }
}
