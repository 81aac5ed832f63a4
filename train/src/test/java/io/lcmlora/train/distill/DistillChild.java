package io.lcmlora.train.distill;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

/** A distill run in its own JVM, for the kill -9 test: args = output dir, then config overrides. */
public final class DistillChild {
    private DistillChild() {}

    public static void main(String[] args) throws IOException {
        Distiller.run(TinyRun.config(Path.of(args[0]), Arrays.copyOfRange(args, 1, args.length)), System.out);
    }
}
