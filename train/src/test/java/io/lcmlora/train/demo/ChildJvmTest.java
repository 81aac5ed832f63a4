package io.lcmlora.train.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** A stage in a child JVM: its output, its exit status as the stage's error, and killing it. */
class ChildJvmTest {
    /** The child: prints its arguments and its engine-thread property, then exits with args[0] or sleeps. */
    public static final class Child {
        public static void main(String[] args) throws InterruptedException {
            System.out.println("threads=" + System.getProperty(DemoRun.ENGINE_THREADS));
            System.err.println("line on stderr");
            if (args[0].equals("sleep")) {
                System.out.println("sleeping");
                System.out.flush();
                Thread.sleep(120_000);
            }
            System.exit(Integer.parseInt(args[0]));
        }
    }

    @Test
    void theChildsOutputIsCopiedWithTheStageNameAndItsExitStatusIsTheError() throws IOException {
        List<String> cmd = ChildJvm.command(Child.class.getName(), List.of("0"));
        assertTrue(cmd.contains("-D" + DemoRun.ENGINE_THREADS + "=" + System.getProperty(DemoRun.ENGINE_THREADS, "1")));
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        ChildJvm.run("w", cmd, new PrintStream(log, true, StandardCharsets.UTF_8));
        String text = log.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("[w] threads=" + System.getProperty(DemoRun.ENGINE_THREADS, "1") + "\n"), text);
        assertTrue(text.contains("[w] line on stderr\n"), text);

        IOException e = assertThrows(IOException.class, () -> ChildJvm.run("w",
                ChildJvm.command(Child.class.getName(), List.of("3")), new PrintStream(OutputStream.nullOutputStream())));
        assertTrue(e.getMessage().startsWith("w: the child JVM exited with 3; its last lines:\n"), e.getMessage());
        assertTrue(e.getMessage().contains("line on stderr"), e.getMessage());
    }

    @Test
    void interruptingTheWaitingThreadKillsTheChild() throws Exception {
        CountDownLatch sleeping = new CountDownLatch(1);
        PrintStream out = new PrintStream(OutputStream.nullOutputStream()) {
            @Override
            public void println(String line) {
                if (line.endsWith("sleeping")) {
                    sleeping.countDown();
                }
            }
        };
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                ChildJvm.run("w", ChildJvm.command(Child.class.getName(), List.of("sleep")), out);
            } catch (Throwable e) {
                thrown.set(e);
            }
        });
        t.start();
        assertTrue(sleeping.await(60, TimeUnit.SECONDS), "the child started");
        t.interrupt();
        t.join(60_000);
        assertInstanceOf(InterruptedIOException.class, thrown.get());
        assertEquals(0, ProcessHandle.current().children().filter(ProcessHandle::isAlive).count(), "the child is gone");
    }
}
