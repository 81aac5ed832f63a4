package io.lcmlora.train.demo;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorCompletionService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleSupplier;

/**
 * Stages with dependencies run on a fixed number of workers: each worker takes the first stage (in list order) whose
 * dependencies have finished; a stage whose output exists when it becomes ready is skipped. The first failure stops
 * the graph: no further stage starts, the running ones are interrupted (a child-JVM stage kills its process), and the
 * failure is rethrown with the stage's name. The actions run on pool threads, so they must not use the engine
 * in-process (its grad mode is per thread; {@link DemoRun} runs each heavy stage in a child JVM).
 */
public final class StageGraph {
    /** A stage of the graph: a {@link DemoRun.Stage} and the names of the stages it needs finished first. */
    public record Node(DemoRun.Stage stage, List<String> after) {
        public Node {
            after = List.copyOf(after);
        }

        public String name() {
            return stage.name();
        }
    }

    private StageGraph() {}

    /**
     * Runs {@code nodes} on {@code workers} threads and returns one result per node in list order; {@code clock} is
     * the seconds since the demo started (the results' start times). A dependency must be listed before its user.
     */
    public static List<DemoRun.StageResult> run(List<Node> nodes, int workers, PrintStream out, DoubleSupplier clock)
            throws IOException {
        if (workers < 1) {
            throw new IllegalArgumentException("workers must be >= 1, got " + workers);
        }
        Set<String> seen = new HashSet<>();
        for (Node n : nodes) {
            for (String a : n.after()) {
                if (!seen.contains(a)) {
                    throw new IllegalArgumentException("stage " + n.name() + " runs after '" + a
                            + "', which is not listed before it");
                }
            }
            if (!seen.add(n.name())) {
                throw new IllegalArgumentException("two stages are named " + n.name());
            }
        }
        Map<String, DemoRun.StageResult> results = new HashMap<>();
        List<Node> pending = new ArrayList<>(nodes);
        Map<Future<DemoRun.StageResult>, Node> running = new LinkedHashMap<>();
        ExecutorService pool = Executors.newFixedThreadPool(workers, r -> {
            Thread t = new Thread(r, "demo-stage");
            t.setDaemon(true);
            return t;
        });
        ExecutorCompletionService<DemoRun.StageResult> done = new ExecutorCompletionService<>(pool);
        try {
            while (!pending.isEmpty() || !running.isEmpty()) {
                // 1. start (or skip) every ready stage while a worker is free, in list order
                boolean started = true;
                while (started && running.size() < workers) {
                    started = false;
                    for (Node n : pending) {
                        if (!results.keySet().containsAll(n.after())) {
                            continue;
                        }
                        pending.remove(n);
                        started = true;
                        DemoRun.Stage s = n.stage();
                        if (s.done().test()) {
                            out.println("[" + s.name() + "] skipped: " + s.produces() + " exists");
                            results.put(s.name(), new DemoRun.StageResult(s.name(), true, clock.getAsDouble(), 0));
                        } else {
                            out.printf(Locale.ROOT, "[%s] -> %s (started at %.1f s)%n", s.name(), s.produces(),
                                    clock.getAsDouble());
                            running.put(done.submit(() -> DemoRun.runOne(s, out, clock)), n);
                        }
                        out.flush();
                        break;
                    }
                }
                if (running.isEmpty()) {
                    if (!pending.isEmpty()) {
                        throw new IllegalStateException("stages " + pending.stream().map(Node::name).toList()
                                + " can never start"); // unreachable: dependencies are listed first
                    }
                    break;
                }
                // 2. wait for one to end; the first failure stops the rest
                Future<DemoRun.StageResult> f = done.take();
                Node n = running.remove(f);
                try {
                    results.put(n.name(), f.get());
                } catch (ExecutionException e) {
                    for (Node other : running.values()) {
                        out.println("[" + other.name() + "] stopped: stage " + n.name() + " failed");
                    }
                    out.flush();
                    for (Future<DemoRun.StageResult> r : running.keySet()) {
                        r.cancel(true);
                    }
                    running.clear();
                    pool.shutdownNow();
                    pool.awaitTermination(60, TimeUnit.SECONDS);
                    Throwable c = e.getCause();
                    throw new IOException("stage " + n.name() + " failed: " + c.getMessage(), c);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while running the demo's stages");
        } finally {
            pool.shutdownNow();
        }
        List<DemoRun.StageResult> ordered = new ArrayList<>();
        for (Node n : nodes) {
            ordered.add(results.get(n.name()));
        }
        return ordered;
    }
}
