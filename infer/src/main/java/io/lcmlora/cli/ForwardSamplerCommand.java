package io.lcmlora.cli;

import io.lcmlora.io.ConfigJson;
import io.lcmlora.io.DType;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.io.SafeTensorsWriter;
import io.lcmlora.singlefile.BundledScheduler;
import io.lcmlora.schedule.NoiseSchedule;
import io.lcmlora.schedule.Sampler;
import io.lcmlora.schedule.SamplerOptions;
import io.lcmlora.schedule.SchedulerConfig;
import io.lcmlora.schedule.SchedulerKind;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lcm forward sampler}: a whole sampler trajectory on stored model outputs (no model), the way
 * {@code forward lcd-step} runs one distillation step. IN holds {@code x_init} (already scaled by init_noise_sigma)
 * and per step i {@code model_output.{i}} and, where the sampler draws noise, {@code noise.{i}}; OUT gets
 * {@code timesteps}, {@code init_noise_sigma} and per step {@code model_input.{i}}, {@code prev_sample.{i}},
 * {@code pred_original_sample.{i}}.
 */
@Command(name = "sampler", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Run a sampler over stored model outputs and noise; write its timesteps, model inputs and samples.")
public final class ForwardSamplerCommand implements Callable<Integer> {
    @Option(names = "--scheduler", required = true, description = "lcm, ddim, euler or tcd")
    String scheduler;

    @Option(names = "--steps", description = "number of steps (not with --timesteps)")
    Integer steps;

    @Option(names = "--spacing", paramLabel = "S", description = "DDIM/Euler: leading, trailing or linspace (default: the config's)")
    String spacing;

    @Option(names = "--eta", paramLabel = "G", description = "TCD gamma (default 0.3) or DDIM eta (default 0)")
    Double eta;

    @Option(names = "--timesteps", split = ",", paramLabel = "T", description = "custom LCM/TCD timesteps, e.g. 999,749,499,249")
    long[] timesteps;

    @Option(names = "--model", paramLabel = "DIR",
            description = "diffusers folder (or its scheduler/ folder) whose scheduler_config.json to use (default: the bundled SDXL one)")
    Path model;

    @Option(names = "--inputs", required = true, paramLabel = "IN")
    Path inputs;

    @Option(names = "--output", required = true, paramLabel = "OUT")
    Path output;

    @Override
    public Integer call() throws IOException {
        if (steps == null && timesteps == null) {
            throw new IllegalArgumentException("give --steps N or --timesteps LIST");
        }
        if (steps != null && timesteps != null && steps != timesteps.length) {
            throw new IllegalArgumentException("--steps " + steps + " differs from the " + timesteps.length + " --timesteps");
        }
        SamplerOptions o = new SamplerOptions(SchedulerKind.parse(scheduler), steps != null ? steps : timesteps.length, timesteps,
                SamplerOptions.parseSpacing(spacing), eta);
        run(config(model), o, inputs, output);
        return 0;
    }

    /** The scheduler config of {@code --model}: DIR/scheduler/scheduler_config.json or DIR/scheduler_config.json. */
    static SchedulerConfig config(Path model) throws IOException {
        if (model == null) {
            return BundledScheduler.sdxl();
        }
        for (Path p : new Path[] {model.resolve("scheduler").resolve("scheduler_config.json"), model.resolve("scheduler_config.json")}) {
            if (Files.isRegularFile(p)) {
                return SchedulerConfig.fromJson(ConfigJson.read(p));
            }
        }
        throw new IOException(model + ": no scheduler/scheduler_config.json or scheduler_config.json");
    }

    /** The command's work, callable from tests. */
    public static void run(SchedulerConfig config, SamplerOptions options, Path inputs, Path output) throws IOException {
        Sampler s = io.lcmlora.schedule.Samplers.create(NoiseSchedule.of(config), options, 1.0);
        try (SafeTensorsFile in = SafeTensorsFile.open(inputs)) {
            long[] shape = require(in, "x_init").shape();
            float[] x = in.floats("x_init");
            SafeTensorsWriter w = new SafeTensorsWriter().metadata("producer", "lcm forward sampler")
                    .metadata("sampler", options.toString());
            for (Map.Entry<String, Object> e : s.describe().entrySet()) {
                w.metadata(e.getKey(), String.valueOf(e.getValue()));
            }
            double[] ts = s.timesteps();
            w.addDoubles("timesteps", new long[] {ts.length}, ts);
            w.addFloats("init_noise_sigma", new long[0], new float[] {s.initNoiseSigma()}, DType.F32);
            for (int i = 0; i < ts.length; i++) {
                float[] out = floats(in, "model_output." + i, shape);
                float[] noise = null;
                if (s.drawsNoise(i)) {
                    noise = floats(in, "noise." + i, shape);
                }
                w.addFloats("model_input." + i, shape, s.scaleModelInput(x, i), DType.F32);
                Sampler.Output r = s.step(i, out, x, noise);
                w.addFloats("prev_sample." + i, shape, r.prevSample(), DType.F32);
                w.addFloats("pred_original_sample." + i, shape, r.predOriginalSample(), DType.F32);
                x = r.prevSample();
            }
            w.write(output);
        }
    }

    private static io.lcmlora.io.TensorInfo require(SafeTensorsFile in, String name) throws IOException {
        if (!in.contains(name)) {
            throw new IllegalArgumentException(in.path() + ": missing input tensor '" + name + "'");
        }
        return in.info(name);
    }

    private static float[] floats(SafeTensorsFile in, String name, long[] shape) throws IOException {
        long[] got = require(in, name).shape();
        if (!java.util.Arrays.equals(got, shape)) {
            throw new IllegalArgumentException(in.path() + ": tensor '" + name + "' has shape " + java.util.Arrays.toString(got)
                    + ", expected x_init's " + java.util.Arrays.toString(shape));
        }
        return in.floats(name);
    }
}
