package io.lcmlora.train.demo;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The child JVM of one of the demo's heavy stages ({@link DemoRun#graph}):
 * {@code DemoWorker --repo DIR --out DIR [--from-scratch] --prompts N [--ddim-steps a,b] [--lcm-steps a,b] STAGE}
 * runs {@link DemoRun#runInProcess} of that stage with one engine thread and exits 0, or prints the error and exits 1.
 */
public final class DemoWorker {
    private DemoWorker() {}

    /** A parsed command line: the demo's paths and options, and the stage to run. */
    record Invocation(DemoPaths paths, DemoRun.Options options, String stage) {}

    public static void main(String[] args) {
        int rc;
        try {
            DemoRun.oneEngineThread();
            Invocation inv = parse(Arrays.asList(args));
            new DemoRun(inv.paths(), inv.options(), System.out).runInProcess(inv.stage());
            rc = 0;
        } catch (Exception | Error e) {
            e.printStackTrace(System.out);
            rc = 1;
        }
        System.out.flush();
        System.exit(rc); // the engine's pools are not daemon threads
    }

    /** The inverse of {@link DemoRun#workerArgs}. */
    static Invocation parse(List<String> args) {
        List<String> a = new ArrayList<>(args);
        if (a.isEmpty()) {
            throw new IllegalArgumentException("usage: DemoWorker --repo DIR --out DIR [options] STAGE");
        }
        String stage = a.remove(a.size() - 1);
        Path repo = null;
        Path out = null;
        boolean fromScratch = false;
        Integer prompts = null;
        List<Integer> ddim = null;
        List<Integer> lcm = null;
        for (int i = 0; i < a.size(); i++) {
            String flag = a.get(i);
            if (flag.equals("--from-scratch")) {
                fromScratch = true;
                continue;
            }
            if (i + 1 >= a.size()) {
                throw new IllegalArgumentException(flag + " needs a value");
            }
            String v = a.get(++i);
            switch (flag) {
                case "--repo" -> repo = Path.of(v);
                case "--out" -> out = Path.of(v);
                case "--prompts" -> prompts = Integer.parseInt(v);
                case "--ddim-steps" -> ddim = steps(v);
                case "--lcm-steps" -> lcm = steps(v);
                default -> throw new IllegalArgumentException("unknown option " + flag);
            }
        }
        if (repo == null || out == null || prompts == null) {
            throw new IllegalArgumentException("--repo, --out and --prompts are required");
        }
        return new Invocation(new DemoPaths(repo, out), new DemoRun.Options(fromScratch, prompts, ddim, lcm), stage);
    }

    static List<Integer> steps(String csv) {
        return Arrays.stream(csv.split(",")).map(String::trim).map(Integer::parseInt).toList();
    }
}
