package io.lcmlora.train.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The demo's stage graph with fake stages: order, concurrency, failure propagation, resume. */
class StageGraphTest {
    private final List<String> events = Collections.synchronizedList(new ArrayList<>());
    private final Set<String> outputs = Collections.synchronizedSet(new HashSet<>());
    private final ByteArrayOutputStream log = new ByteArrayOutputStream();
    private final PrintStream out = new PrintStream(log, true, StandardCharsets.UTF_8);

    /** A stage that records its start and end around {@code body} and leaves its output. */
    private StageGraph.Node node(String name, List<String> after, DemoRun.Action body) {
        return new StageGraph.Node(new DemoRun.Stage(name, name.toUpperCase(), () -> outputs.contains(name), () -> {
            events.add("start " + name);
            body.run();
            events.add("end " + name);
            outputs.add(name);
        }), after);
    }

    private StageGraph.Node node(String name, String... after) {
        return node(name, List.of(after), () -> {});
    }

    @Test
    void aStageStartsOnlyAfterItsDependenciesAndEveryStageRunsOnce() throws IOException {
        List<StageGraph.Node> g = List.of(node("a"), node("b"), node("c", "a", "b"), node("d", "c"));
        List<DemoRun.StageResult> r = StageGraph.run(g, 2, out, () -> 0);
        assertEquals(List.of("a", "b", "c", "d"), r.stream().map(DemoRun.StageResult::name).toList());
        assertEquals(8, events.size(), events.toString());
        assertTrue(events.indexOf("start c") > events.indexOf("end a"), events.toString());
        assertTrue(events.indexOf("start c") > events.indexOf("end b"), events.toString());
        assertTrue(events.indexOf("start d") > events.indexOf("end c"), events.toString());
        assertEquals(Set.of("a", "b", "c", "d"), outputs);
    }

    /** Two independent stages must both be running at once to pass the barrier (one worker would wait forever). */
    @Test
    void independentStagesRunAtTheSameTimeOnTwoWorkers() throws IOException {
        CyclicBarrier both = new CyclicBarrier(2);
        DemoRun.Action meet = () -> {
            try {
                both.await(60, TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new IOException("the other stage never ran alongside", e);
            }
        };
        List<StageGraph.Node> g = List.of(node("distill", List.of(), meet), node("images", List.of(), meet),
                node("eval", "distill", "images"));
        StageGraph.run(g, 2, out, () -> 0);
        assertEquals(Set.of("distill", "images", "eval"), outputs);
        assertEquals("end eval", events.get(events.size() - 1));
    }

    @Test
    void aFailingStageStopsTheOtherWorkerAndFailsTheGraphWithItsError() {
        CountDownLatch otherRunning = new CountDownLatch(1);
        CountDownLatch never = new CountDownLatch(1);
        List<StageGraph.Node> g = List.of(
                node("slow", List.of(), () -> {
                    otherRunning.countDown();
                    try {
                        never.await(60, TimeUnit.SECONDS);
                        events.add("slow was not stopped");
                    } catch (InterruptedException e) {
                        events.add("slow interrupted");
                        throw new java.io.InterruptedIOException("stopped");
                    }
                }),
                node("broken", List.of(), () -> {
                    try {
                        otherRunning.await(60, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        throw new IOException(e);
                    }
                    throw new IOException("worker said: out of memory");
                }),
                node("after", "broken"));
        IOException e = assertThrows(IOException.class, () -> StageGraph.run(g, 2, out, () -> 0));
        assertEquals("stage broken failed: worker said: out of memory", e.getMessage());
        assertTrue(events.contains("slow interrupted"), events.toString());
        assertFalse(events.contains("start after"), "no stage starts after a failure");
        assertTrue(log.toString(StandardCharsets.UTF_8).contains("[slow] stopped: stage broken failed"));
    }

    /** A rerun skips the stages whose output exists and runs only the rest (a failed run resumes). */
    @Test
    void finishedStagesAreSkippedOnARerun() throws IOException {
        outputs.add("a");
        List<StageGraph.Node> g = List.of(node("a"), node("b", "a"), node("c", "b"));
        List<DemoRun.StageResult> r = StageGraph.run(g, 2, out, () -> 0);
        assertEquals(List.of(true, false, false), r.stream().map(DemoRun.StageResult::skipped).toList());
        assertEquals(List.of("start b", "end b", "start c", "end c"), events);
        assertTrue(log.toString(StandardCharsets.UTF_8).contains("[a] skipped: A exists"));
        events.clear();
        StageGraph.run(g, 2, out, () -> 0);
        assertEquals(List.of(), events, "everything done: nothing runs");
    }

    @Test
    void aStageMustComeAfterTheStagesItNeeds() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> StageGraph.run(List.of(node("b", "a"), node("a")), 2, out, () -> 0));
        assertTrue(e.getMessage().contains("stage b runs after 'a', which is not listed before it"), e.getMessage());
    }
}
