package io.lcmlora.train.loop;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import com.google.gson.JsonObject;
import io.lcmlora.nn.Ops;
import io.lcmlora.train.config.OptimConfig.Schedule;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A toy training loop (linear regression through a frozen weight plus a LoRA pair B·A) that uses the real
 * Rng/AdamW/GradClip/LrSchedule/Checkpoints: N steps in one go give bit-identical losses and weights to K steps,
 * a checkpoint, a fresh start from that checkpoint, and N-K more steps.
 */
class ToyLoopResumeTest {
    static final int IN = 6;
    static final int OUT = 4;
    static final int RANK = 2;
    static final int BATCH = 8;
    static final int ACCUM = 2;
    static final int STEPS = 12;
    static final long SEED = 31337;

    /** Everything a run holds; built fresh for each (re)start. */
    static final class Run implements AutoCloseable {
        final NDManager nd = NDManager.newBaseManager();
        final NDArray w0;
        final NDArray wTrue;
        final Map<String, NDArray> lora = new LinkedHashMap<>();
        final AdamW opt;
        final Map<String, Rng> rngs = new LinkedHashMap<>();
        final LrSchedule lr = new LrSchedule(5e-2, Schedule.COSINE, 3, STEPS);
        long step;

        Run() {
            Rng init = Rng.stream(SEED, "init");
            w0 = init.randn(nd, new Shape(OUT, IN));
            wTrue = init.randn(nd, new Shape(OUT, IN));
            NDArray a = Ops.mulScalar(init.randn(nd, new Shape(RANK, IN)), 1.0 / RANK);
            NDArray b = nd.zeros(new Shape(OUT, RANK));
            a.setRequiresGradient(true);
            b.setRequiresGradient(true);
            lora.put("lora_A", a);
            lora.put("lora_B", b);
            opt = new AdamW(lora, 0.9, 0.999, 1e-8, 1e-2);
            rngs.put("data", Rng.stream(SEED, "data"));
            rngs.put("noise", Rng.stream(SEED, "noise"));
        }

        void restore(Checkpoint c) throws IOException {
            c.restoreLora(lora);
            c.restoreOptimizer(opt);
            rngs.replaceAll((name, r) -> c.rng(name));
            step = c.step();
            assertEquals(step, c.state().get("step").getAsLong());
        }

        /** One optimizer step of ACCUM micro-batches; returns the micro-batch losses. */
        List<Float> trainStep() {
            List<Float> losses = new ArrayList<>();
            try (NDScope scope = new NDScope()) {
                for (int micro = 0; micro < ACCUM; micro++) {
                    NDArray x = rngs.get("data").randn(nd, new Shape(BATCH, IN));
                    NDArray noise = Ops.mulScalar(rngs.get("noise").randn(nd, new Shape(BATCH, OUT)), 0.01);
                    NDArray y = x.matMul(wTrue.transpose()).add(noise);
                    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        // [B, IN] -> [B, OUT]: frozen path plus x A^T B^T
                        NDArray pred = x.matMul(w0.transpose())
                                .add(x.matMul(lora.get("lora_A").transpose()).matMul(lora.get("lora_B").transpose()));
                        NDArray loss = pred.sub(y).square().mean();
                        losses.add(loss.getFloat());
                        gc.backward(Ops.mulScalar(loss, 1.0 / ACCUM)); // gradients add up over micro-batches
                    }
                }
                GradClip.clipGlobalNorm(lora.values(), 1.0);
            }
            opt.step(lr.lr(step)); // outside the scope: the moments persist
            step++;
            return losses;
        }

        Checkpoints.Snapshot snapshot() {
            JsonObject state = new JsonObject();
            state.addProperty("step", step);
            return new Checkpoints.Snapshot(step, lora, opt, rngs, "seed: " + SEED + "\n", state);
        }

        @Override
        public void close() {
            opt.close();
            nd.close();
        }
    }

    @Test
    void resumeFromACheckpointGivesBitIdenticalLosses(@TempDir Path dir) throws IOException {
        List<Float> straight = new ArrayList<>();
        float[] straightA;
        float[] straightB;
        Checkpoints cpsStraight = new Checkpoints(dir.resolve("straight"), 2);
        try (Run run = new Run()) {
            while (run.step < STEPS) {
                straight.addAll(run.trainStep());
                if (run.step % 5 == 0) {
                    cpsStraight.save(run.snapshot()); // saving must not perturb the run
                }
            }
            straightA = run.lora.get("lora_A").toFloatArray();
            straightB = run.lora.get("lora_B").toFloatArray();
        }

        List<Float> resumed = new ArrayList<>();
        Checkpoints cps = new Checkpoints(dir.resolve("resumed"), 2);
        try (Run first = new Run()) {
            for (int k = 0; k < 7; k++) {
                resumed.addAll(first.trainStep());
                if (first.step % 5 == 0) {
                    cps.save(first.snapshot());
                }
            }
        } // killed after step 7: steps 6 and 7 are lost and must be recomputed
        Optional<Checkpoint> latest = cps.resume("latest");
        assertEquals(5, latest.orElseThrow().step());
        resumed = new ArrayList<>(resumed.subList(0, 5 * ACCUM));
        float[] resumedA;
        float[] resumedB;
        try (Run second = new Run()) {
            second.restore(latest.get());
            while (second.step < STEPS) {
                resumed.addAll(second.trainStep());
            }
            resumedA = second.lora.get("lora_A").toFloatArray();
            resumedB = second.lora.get("lora_B").toFloatArray();
        }

        assertEquals(STEPS * ACCUM, straight.size());
        assertEquals(straight, resumed); // Float.equals: bit-identical
        assertArrayEquals(straightA, resumedA);
        assertArrayEquals(straightB, resumedB);
        assertTrue(straight.get(straight.size() - 1) < straight.get(0) * 0.8, "the toy loop learns: " + straight);
    }

    @Test
    void accumulatedMicroBatchGradientsEqualTheFullBatchGradient() {
        try (NDManager nd = NDManager.newBaseManager()) {
            Rng r = Rng.seeded(3);
            NDArray w = r.randn(nd, new Shape(OUT, IN));
            w.setRequiresGradient(true);
            NDArray x = r.randn(nd, new Shape(2 * BATCH, IN));
            NDArray y = r.randn(nd, new Shape(2 * BATCH, OUT));
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                gc.backward(x.matMul(w.transpose()).sub(y).square().mean());
            }
            float[] full = w.getGradient().toFloatArray();
            ai.djl.pytorch.jni.JniUtils.zeroGrad((ai.djl.pytorch.engine.PtNDArray) w);
            for (int half = 0; half < 2; half++) {
                NDArray xs = x.get(half * BATCH + ":" + (half + 1) * BATCH);
                NDArray ys = y.get(half * BATCH + ":" + (half + 1) * BATCH);
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    gc.backward(Ops.mulScalar(xs.matMul(w.transpose()).sub(ys).square().mean(), 0.5));
                }
            }
            assertArrayEquals(full, w.getGradient().toFloatArray(), 1e-6f);
        }
    }
}
