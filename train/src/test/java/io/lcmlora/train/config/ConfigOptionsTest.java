package io.lcmlora.train.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

class ConfigOptionsTest {
    @Command(name = "distill")
    static final class Cmd implements Callable<Integer> {
        @Mixin
        ConfigOptions config;
        TrainConfig resolved;
        final ByteArrayOutputStream out = new ByteArrayOutputStream();

        @Override
        public Integer call() throws Exception {
            resolved = config.resolveAndMaybePrint(new PrintStream(out, true, StandardCharsets.UTF_8));
            return 0;
        }
    }

    @Test
    void printConfigShowsTheResolvedConfigWithOverridesAndResume() {
        Cmd cmd = new Cmd();
        int rc = new CommandLine(cmd).execute("--config", TrainConfigTest.CONFIGS.resolve("tiny.yaml").toString(),
                "--set", "lora.rank=8", "--set", "optim.lr_scheduler=cosine", "--resume", "latest", "--print-config");
        assertEquals(0, rc);
        String printed = cmd.out.toString(StandardCharsets.UTF_8);
        assertEquals(cmd.resolved, TrainConfig.parse(printed));
        assertEquals(8, cmd.resolved.lora().rank());
        assertEquals(OptimConfig.Schedule.COSINE, cmd.resolved.optim().lrScheduler());
        assertEquals("latest", cmd.resolved.checkpointing().resume());
        assertTrue(printed.contains("  rank: 8\n"), printed);
    }
}
