package io.lcmlora.train.cli;

import io.lcmlora.train.config.TrainConfig;

/** Test access to {@link DistillCommand}'s package-private helpers from other test packages. */
public final class DistillCommandAccess {
    private DistillCommandAccess() {}

    public static TrainConfig perRank(TrainConfig c, int global, int worldSize) {
        return DistillCommand.perRank(c, global, worldSize);
    }
}
