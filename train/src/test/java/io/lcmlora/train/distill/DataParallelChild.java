package io.lcmlora.train.distill;

import io.lcmlora.train.parallel.World;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * One rank of a data-parallel tiny distill run, started by {@code mpirun} from {@link DataParallelTest}: args = output
 * dir, optionally {@code --poison=RANK:STEP} (a NaN loss at that step on that rank only), then config overrides. Writes its pid to {@code <output dir>/pid-rank<r>} (for the kill -9 test).
 */
public final class DataParallelChild {
    static final String POISON = "--poison=";

    private DataParallelChild() {}

    public static void main(String[] args) throws Exception {
        World world = World.detect();
        Path out = Path.of(args[0]);
        Files.createDirectories(out);
        Files.writeString(out.resolve("pid-rank" + world.rank()), Long.toString(ProcessHandle.current().pid()));
        int first = 1;
        Distiller.Options options = Distiller.Options.defaults();
        if (args.length > 1 && args[1].startsWith(POISON)) { // --poison=RANK:STEP: a NaN loss on that rank only
            String[] rs = args[1].substring(POISON.length()).split(":");
            if (world.rank() == Integer.parseInt(rs[0])) {
                options = options.poison(Long.parseLong(rs[1]));
            }
            first = 2;
        }
        Distiller.Options o = options;
        String[] overrides = Arrays.copyOfRange(args, first, args.length);
        World.run(world, () -> Distiller.run(TinyRun.config(out, overrides), System.out, o, world));
        System.exit(0);
    }
}
