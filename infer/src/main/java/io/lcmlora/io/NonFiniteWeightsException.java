package io.lcmlora.io;

import java.nio.file.Path;

/** Weights that hold NaN or infinite values: the file (or source) is refused, naming how many there are. */
public final class NonFiniteWeightsException extends SafeTensorsException {
    private final transient Path source;
    private final long count;

    public NonFiniteWeightsException(Path source, long count, String message) {
        super(message);
        this.source = source;
        this.count = count;
    }

    /** The file (or output) the values belong to. */
    public Path source() {
        return source;
    }

    /** How many values are NaN or infinite. */
    public long count() {
        return count;
    }
}
