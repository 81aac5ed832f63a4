package io.lcmlora.singlefile;

/** A single-file checkpoint that cannot be loaded as asked; the message names the file, keys and shapes. */
public final class SingleFileException extends RuntimeException {
    public SingleFileException(String message) {
        super(message);
    }
}
