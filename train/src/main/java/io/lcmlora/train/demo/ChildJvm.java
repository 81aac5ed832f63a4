package io.lcmlora.train.demo;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.InterruptedIOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A demo stage in a child JVM: the same java, classpath and memory/system-property options as this one, one engine
 * thread; its output is copied line by line with the stage's name in front, and a non-zero exit is an
 * {@link IOException} carrying its last lines. Interrupting the waiting thread kills the child (and its children).
 */
public final class ChildJvm {
    /** Lines of a failed child's output kept for the error message. */
    static final int TAIL_LINES = 40;

    private ChildJvm() {}

    /** {@code java <options> -cp <this classpath> mainClass args...}. */
    public static List<String> command(String mainClass, List<String> args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            // heap and system properties carry over; agents (debuggers, coverage) and the rest stay with the parent
            boolean thread = a.startsWith("-D" + DemoRun.ENGINE_THREADS + "=")
                    || a.startsWith("-D" + DemoRun.ENGINE_INTEROP_THREADS + "=");
            if (!thread && (a.startsWith("-Xmx") || a.startsWith("-Xms") || a.startsWith("-D"))) {
                cmd.add(a);
            }
        }
        cmd.add("-D" + DemoRun.ENGINE_THREADS + "=" + System.getProperty(DemoRun.ENGINE_THREADS, "1"));
        cmd.add("-D" + DemoRun.ENGINE_INTEROP_THREADS + "=" + System.getProperty(DemoRun.ENGINE_INTEROP_THREADS, "1"));
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(mainClass);
        cmd.addAll(args);
        return cmd;
    }

    /** Runs {@code command}, copying its output to {@code out} as "[name] line"; throws when it exits non-zero. */
    public static void run(String name, List<String> command, PrintStream out) throws IOException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        Thread killer = new Thread(() -> kill(p), "kill " + name);
        Runtime.getRuntime().addShutdownHook(killer); // a demo stopped with Ctrl-C leaves no child running
        Deque<String> tail = new ArrayDeque<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    out.println("[" + name + "] " + line);
                    synchronized (tail) {
                        tail.addLast(line);
                        if (tail.size() > TAIL_LINES) {
                            tail.removeFirst();
                        }
                    }
                }
            } catch (IOException e) {
                out.println("[" + name + "] (output lost: " + e.getMessage() + ")");
            }
        }, "output " + name);
        reader.setDaemon(true);
        reader.start();
        int rc;
        try {
            rc = p.waitFor();
            reader.join();
        } catch (InterruptedException e) {
            kill(p);
            Thread.currentThread().interrupt();
            throw new InterruptedIOException(name + ": stopped (its child JVM was killed)");
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(killer);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running or about to: nothing to remove
            }
        }
        if (rc != 0) {
            synchronized (tail) {
                throw new IOException(name + ": the child JVM exited with " + rc + "; its last lines:\n"
                        + String.join("\n", tail));
            }
        }
    }

    /** Kills the child and its children and waits (up to 30 s) until it is gone. */
    private static void kill(Process p) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        try {
            p.waitFor(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
