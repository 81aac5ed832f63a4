package io.lcmlora.train.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.lcmlora.io.ComponentPath;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.io.SafeTensorsWriter;
import io.lcmlora.lora.Adapters;
import io.lcmlora.model.unet.GradientCheckpointing;
import io.lcmlora.model.unet.UNet2DConditionModel;
import io.lcmlora.schedule.NoiseSchedule;
import io.lcmlora.schedule.SchedulerConfig;
import io.lcmlora.train.config.DistillConfig.Guidance;
import io.lcmlora.train.config.DistillConfig.Loss;
import io.lcmlora.train.distill.LcdStep;
import io.lcmlora.train.distill.LcdStepCheck;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lcm forward lcd-step}: one distillation step with fixed draws ({@code latents}, {@code noise}, {@code index},
 * {@code w}, {@code prompt_embeds}, {@code text_embeds}, {@code time_ids}), writing every intermediate, both losses
 * and the LoRA gradients under the reference's names.
 */
@Command(name = "lcd-step", mixinStandardHelpOptions = true,
        description = "One LCD step on given tensors: intermediates, Huber and L2 losses, LoRA gradients.")
public final class ForwardLcdStepCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "unet/ folder or diffusers SDXL folder")
    Path model;

    @Option(names = "--lora-state", required = true, description = "LoRA safetensors (PEFT, kohya or legacy keys) to start from")
    Path loraState;

    @Option(names = "--inputs", required = true)
    Path inputs;

    @Option(names = "--output", required = true)
    Path output;

    @Option(names = "--num-ddim-timesteps", defaultValue = "50")
    int numDdimTimesteps;

    @Option(names = "--huber-c", defaultValue = "0.001")
    double huberC;

    @Option(names = "--guidance-convention", defaultValue = "LCM", description = "LCM (cond + w(cond-uncond), the script's code) or IMAGEN (w - 1)")
    Guidance guidance;

    @Option(names = "--timestep-scaling", defaultValue = "10", description = "factor on t in the boundary scalings; default ${DEFAULT-VALUE}")
    double timestepScaling;

    @Option(names = "--gradient-checkpointing", defaultValue = "false", paramLabel = "MODE",
            description = "activation checkpointing of the student pass, as distill.gradient_checkpointing: false, true"
                    + " (= blocks), blocks or transformer (the gradients must not change)")
    String gradientCheckpointing;

    @Override
    public Integer call() throws Exception {
        run(model, loraState, inputs, output, new LcdStep.Config(numDdimTimesteps, Loss.HUBER, huberC, guidance,
                timestepScaling, GradientCheckpointing.parse(gradientCheckpointing)));
        return 0;
    }

    public static void run(Path model, Path loraState, Path inputs, Path output, LcdStep.Config config) throws Exception {
        try (NDManager m = NDManager.newBaseManager(); SafeTensorsFile in = SafeTensorsFile.open(inputs)) {
            for (String req : new String[] {"latents", "noise", "index", "w", "prompt_embeds", "text_embeds", "time_ids"}) {
                if (!in.contains(req)) {
                    throw new IllegalArgumentException(inputs + ": missing input tensor '" + req + "'");
                }
            }
            Path unetDir = ComponentPath.resolve(model, "unet");
            UNet2DConditionModel unet = UNet2DConditionModel.load(unetDir, null, m, DataType.FLOAT32);
            Adapters adapters = LcdStepCheck.attachTrainable(unet, loraState, m);
            Path sched = unetDir.resolveSibling("scheduler").resolve("scheduler_config.json");
            SchedulerConfig sc = java.nio.file.Files.isRegularFile(sched)
                    ? SchedulerConfig.fromJson(io.lcmlora.io.ConfigJson.read(sched)) : SchedulerConfig.sdxl();
            Map<String, NDArray> out = LcdStepCheck.run(unet, adapters, config, NoiseSchedule.of(sc),
                    new LcdStep.Batch(in.load("latents", m, DataType.FLOAT32), in.load("prompt_embeds", m, DataType.FLOAT32),
                            in.load("text_embeds", m, DataType.FLOAT32), in.load("time_ids", m, DataType.FLOAT32)),
                    new LcdStep.Draws(in.longs("index"), in.load("noise", m, DataType.FLOAT32), in.floats("w")));
            SafeTensorsWriter w = new SafeTensorsWriter().metadata("producer", "lcm forward lcd-step")
                    .metadata("num_ddim_timesteps", Integer.toString(config.numDdimTimesteps()))
                    .metadata("huber_c", Double.toString(config.huberC()))
                    .metadata("guidance_convention", config.guidance().name())
                    .metadata("timestep_scaling", Double.toString(config.timestepScaling()))
                    .metadata("gradient_checkpointing", config.checkpointing().name().toLowerCase(java.util.Locale.ROOT));
            for (Map.Entry<String, NDArray> e : out.entrySet()) {
                w.add(e.getKey(), e.getValue());
            }
            w.write(output);
        }
    }
}
