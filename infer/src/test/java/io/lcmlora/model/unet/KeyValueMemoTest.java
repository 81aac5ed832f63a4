package io.lcmlora.model.unet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.nn.AdaptableLayer;
import io.lcmlora.nn.Delta;
import io.lcmlora.nn.KeyValueMemo;
import io.lcmlora.nn.NoGrad;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The sampling loop's cross-attention key/value memo on the golden UNet: a memoized loop gives the plain forward's
 * bits at every step (reference: the same model's plain forward, itself checked against diffusers by
 * {@link UNet2DConditionModelTest}), it holds one pair per cross-attention, an adapter change is seen, and it is
 * bypassed with gradients.
 */
class KeyValueMemoTest {
    static NDManager manager;
    static UNet2DConditionModel unet;
    static SafeTensorsFile cases;

    @BeforeAll
    static void load() throws Exception {
        manager = NDManager.newBaseManager();
        unet = UNet2DConditionModel.load(UNet2DConditionModelTest.DIR, null, manager, DataType.FLOAT32);
        cases = SafeTensorsFile.open(UNet2DConditionModelTest.DIR.resolve("cases.safetensors"));
    }

    @AfterAll
    static void close() throws Exception {
        cases.close();
        manager.close();
    }

    static long crossAttentions() {
        return unet.layers().keySet().stream().filter(k -> k.endsWith("attn2.to_k")).count();
    }

    static UNet2DConditionModel.Inputs inputs(NDManager m, NDArray sample, double t, NDArray context) throws Exception {
        return new UNet2DConditionModel.Inputs(sample, new double[] {t}, context, cases.load("b_text_embeds", m),
                cases.load("b_time_ids", m));
    }

    /** A loop's worth of steps (a fresh sample and timestep each, as a sampler feeds them), one memo over all. */
    @Test
    void memoizedStepsEqualPlainForwardsBitForBit() throws Exception {
        assertTrue(crossAttentions() > 0);
        try (NDManager m = manager.newSubManager(); NoGrad ng = NoGrad.open()) {
            NDArray context = cases.load("b_encoder_hidden_states", m);
            NDArray sample = cases.load("b_sample", m);
            double[] ts = {999, 759, 499, 259};
            try (KeyValueMemo memo = unet.memoizeContext(context)) {
                for (int i = 0; i < ts.length; i++) {
                    try (NDScope step = new NDScope()) {
                        NDArray x = sample.mul(1 + 0.25 * i); // a different latent per step
                        NDArray plain = unet.forward(inputs(m, x, ts[i], context));
                        NDArray memoized = unet.forward(inputs(m, x, ts[i], context), memo);
                        assertEquals(0.0, plain.sub(memoized).abs().max().getFloat(), "step " + i);
                        assertEquals(crossAttentions(), memo.size(), "one key/value pair per cross-attention");
                    }
                }
            }
        }
    }

    /** A delta added to one cross-attention's to_k after the memo filled is used at the next step (not stale). */
    @Test
    void adapterChangedDuringTheMemoIsRecomputed() throws Exception {
        Map.Entry<String, AdaptableLayer> toK = unet.layers().entrySet().stream()
                .filter(e -> e.getKey().endsWith("attn2.to_k")).findFirst().orElseThrow();
        AdaptableLayer layer = toK.getValue();
        try (NDManager m = manager.newSubManager(); NoGrad ng = NoGrad.open()) {
            NDArray context = cases.load("b_encoder_hidden_states", m);
            NDArray sample = cases.load("b_sample", m);
            long in = layer.weight().getShape().get(1);
            long out = layer.weight().getShape().get(0);
            NDArray a = m.randomNormal(0, 0.5f, new Shape(in, out), DataType.FLOAT32);
            Delta delta = x -> x.matMul(a); // [B, S, in] -> [B, S, out]
            try (KeyValueMemo memo = unet.memoizeContext(context)) {
                NDArray before = unet.forward(inputs(m, sample, 759, context), memo);
                layer.addDelta(delta);
                try {
                    NDArray plain = unet.forward(inputs(m, sample, 759, context));
                    NDArray memoized = unet.forward(inputs(m, sample, 759, context), memo);
                    assertTrue(plain.sub(before).abs().max().getFloat() > 1e-4, "the delta changes the output");
                    assertEquals(0.0, plain.sub(memoized).abs().max().getFloat());
                } finally {
                    layer.removeDelta(delta);
                }
                NDArray again = unet.forward(inputs(m, sample, 759, context), memo);
                assertEquals(0.0, before.sub(again).abs().max().getFloat(), "removing the delta is seen too");
            }
        }
    }

    @Test
    void gradientsBypassTheMemoAndAnotherContextIsRefused() throws Exception {
        try (NDManager m = manager.newSubManager()) {
            NDArray context = cases.load("b_encoder_hidden_states", m);
            NDArray sample = cases.load("b_sample", m);
            KeyValueMemo memo = unet.memoizeContext(context);
            assertEquals(crossAttentions(), memo.size(), "every pair computed when the memo opens");
            try (NoGrad ng = NoGrad.open()) {
                NDArray other = context.duplicate();
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> unet.forward(inputs(m, sample, 759, other), memo));
                assertTrue(e.getMessage().contains("memoizeContext"), e.getMessage());
            }
            memo.close();
            try (NoGrad ng = NoGrad.open()) {
                assertThrows(IllegalStateException.class, () -> unet.forward(inputs(m, sample, 759, context), memo));
            }
            boolean previous = JniUtils.isGradMode();
            JniUtils.setGradMode(true);
            try { // with gradients the memo is not consulted at all: the closed one does not fail, the output is the plain one
                NDArray withMemo = unet.forward(inputs(m, sample, 759, context), memo);
                NDArray plain = unet.forward(inputs(m, sample, 759, context));
                assertEquals(0.0, withMemo.sub(plain).abs().max().getFloat());
            } finally {
                JniUtils.setGradMode(previous);
            }
        }
    }
}
