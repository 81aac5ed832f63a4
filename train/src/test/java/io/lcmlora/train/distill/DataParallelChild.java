package io.lcmlora.train.distill;

import io.lcmlora.train.parallel.World;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * One rank of a data-parallel tiny distill run, started by {@code mpirun} from {@link DataParallelTest}: args = output
 * dir, then config overrides. Writes its pid to {@code <output dir>/pid-rank<r>} (for the kill -9 test).
 */
public final class DataParallelChild {
    private DataParallelChild() {}

    public static void main(String[] args) throws Exception {
        World world = World.detect();
        Path out = Path.of(args[0]);
        Files.createDirectories(out);
        Files.writeString(out.resolve("pid-rank" + world.rank()), Long.toString(ProcessHandle.current().pid()));
        World.run(world, () -> Distiller.run(TinyRun.config(out, Arrays.copyOfRange(args, 1, args.length)), System.out,
                Distiller.Options.defaults(), world));
        System.exit(0);
    }
}
