package io.lcmlora.train.distill;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import io.lcmlora.lora.Adapters;
import io.lcmlora.lora.LoraAdapter;
import io.lcmlora.lora.LoraComponent;
import io.lcmlora.lora.LoraFile;
import io.lcmlora.lora.LoraKeyMap;
import io.lcmlora.model.unet.UNet2DConditionModel;
import io.lcmlora.train.config.DistillConfig.Loss;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One LCD step on given tensors with both losses and their LoRA gradients, under the golden set's names
 * ({@code loss_huber}, {@code grad_l2.<module>.lora_A.weight}, ...): what {@code lcm forward lcd-step} writes so
 * users can check the trainer against the reference on their own model.
 */
public final class LcdStepCheck {
    private LcdStepCheck() {}

    /** Attaches a LoRA state (any supported key format) to the UNet as adapter "lcm" with trainable A/B. */
    public static Adapters attachTrainable(UNet2DConditionModel unet, Path loraState, NDManager manager) throws IOException {
        return attachTrainable(unet, loraState, manager, DataType.FLOAT32);
    }

    /** As above, with the A/B matrices in {@code dtype} (the UNet's: the GPU check runs fp16/bf16 steps). */
    public static Adapters attachTrainable(UNet2DConditionModel unet, Path loraState, NDManager manager, DataType dtype)
            throws IOException {
        Adapters adapters = new Adapters(LoraComponent.UNET, unet.layers());
        adapters.load(LoraFile.load(loraState, LoraKeyMap.of(unet), manager, dtype), "lcm", 1.0);
        for (LoraAdapter a : adapters.adapter("lcm").values()) {
            a.a().setRequiresGradient(true);
            a.b().setRequiresGradient(true);
        }
        return adapters;
    }

    /** Runs the step once per loss type and returns every output by name (arrays live in {@code manager}'s scope). */
    public static Map<String, NDArray> run(UNet2DConditionModel unet, Adapters adapters, LcdStep.Config config,
            io.lcmlora.schedule.NoiseSchedule schedule, LcdStep.Batch batch, LcdStep.Draws draws) {
        return run(unet, adapters, config, schedule, batch, draws, 1.0);
    }

    /**
     * As above, back-propagating {@code loss * lossScale} (fp16 gradients underflow unscaled); the gradients are
     * returned in fp32 divided by {@code lossScale}.
     */
    public static Map<String, NDArray> run(UNet2DConditionModel unet, Adapters adapters, LcdStep.Config config,
            io.lcmlora.schedule.NoiseSchedule schedule, LcdStep.Batch batch, LcdStep.Draws draws, double lossScale) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        Map<String, LoraAdapter> lora = adapters.adapter("lcm");
        for (Loss loss : Loss.values()) {
            String tag = switch (loss) {
                case HUBER -> "huber";
                case L2 -> "l2";
            };
            LcdStep step = new LcdStep(unet, adapters, schedule, new LcdStep.Config(config.numDdimTimesteps(), loss,
                    config.huberC(), config.guidance(), config.timestepScaling(), config.checkpointing()));
            for (LoraAdapter a : lora.values()) {
                JniUtils.zeroGrad((PtNDArray) a.a());
                JniUtils.zeroGrad((PtNDArray) a.b());
            }
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                LcdStep.Result r = step.run(batch, draws, true);
                r.backward(gc, lossScale == 1.0 ? r.loss() : io.lcmlora.nn.Ops.mulScalar(r.loss(), lossScale));
                if (loss == Loss.HUBER) {
                    out.putAll(r.intermediates());
                }
                out.put("loss_" + tag, r.loss());
            }
            double sq = 0;
            for (Map.Entry<String, LoraAdapter> e : lora.entrySet()) {
                NDArray ga = unscaled(e.getValue().a().getGradient(), lossScale);
                NDArray gb = unscaled(e.getValue().b().getGradient(), lossScale);
                sq += ga.square().sum().getFloat() + gb.square().sum().getFloat();
                out.put("grad_" + tag + "." + e.getKey() + ".lora_A.weight", ga);
                out.put("grad_" + tag + "." + e.getKey() + ".lora_B.weight", gb);
            }
            out.put("grad_" + tag + "_total_norm", batch.latents().getManager().create((float) Math.sqrt(sq)));
        }
        return out;
    }

    private static NDArray unscaled(NDArray grad, double lossScale) {
        NDArray g = grad.getDataType() == DataType.FLOAT32 ? grad.duplicate() : grad.toType(DataType.FLOAT32, true);
        if (lossScale != 1.0) {
            g.divi((float) lossScale); // outside the graph
        }
        return g;
    }
}
