package io.lcmlora.train.cli;

import io.lcmlora.cli.BenchCommand;
import io.lcmlora.cli.FidCommand;
import io.lcmlora.cli.ForwardCommand;
import io.lcmlora.cli.GenerateCommand;
import io.lcmlora.cli.LoraCommand;
import io.lcmlora.cli.TokenizeCommand;
import io.lcmlora.train.demo.DataCommand;
import io.lcmlora.train.demo.DemoCommand;
import io.lcmlora.train.pretrain.PretrainCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code lcm} command line: every subcommand of the toolkit. */
@Command(name = "lcm", mixinStandardHelpOptions = true, version = "lcm-lora-java 0.1.0",
        description = "LCM-LoRA for SDXL on the JVM: distill, sample, convert, evaluate.",
        subcommands = {
            ForwardCommand.class,
            GenerateCommand.class,
            BenchCommand.class,
            TokenizeCommand.class,
            FidCommand.class,
            LoraCommand.class,
            DistillCommand.class,
            ExportCommand.class,
            DataCommand.class,
            DemoCommand.class,
            EvalCommand.class,
            PretrainCommand.class,
            GpuCheckCommand.class,
        })
public final class Main implements Runnable {
    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    /** The full command line with its error handler (tests run commands through it too). */
    public static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new Main());
        cli.getSubcommands().get("forward").addSubcommand("lcd-step", new ForwardLcdStepCommand());
        cli.getSubcommands().get("bench").addSubcommand("distill", new BenchDistillCommand());
        cli.getSubcommands().get("bench").addSubcommand("checkpointing", new BenchCheckpointingCommand());
        cli.getSubcommands().get("bench").addSubcommand("workload", new BenchWorkloadCommand());
        return cli.setExecutionExceptionHandler((ex, cl, parsed) -> {
            cl.getErr().println("error: " + ErrorMessages.describe(ex));
            if (System.getenv("LCM_DEBUG") != null) {
                ex.printStackTrace(cl.getErr());
            }
            return 1;
        });
    }

    public static void main(String[] args) {
        // ImageIO's default disk cache registers a shutdown hook that prints a stack trace when the disk is full;
        // every image here is small enough to encode in memory
        javax.imageio.ImageIO.setUseCache(false);
        System.exit(commandLine().execute(args));
    }
}
