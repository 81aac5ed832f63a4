package io.lcmlora.train.cli;

import io.lcmlora.io.AtomicFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileSystemException;
import java.util.regex.Pattern;

/**
 * The one-line message the command line prints for a failure: what went wrong and where (file, key, step), never a
 * stack trace or a Java class name for an expected error. Unexpected errors (a bug) say so and how to get the trace.
 */
final class ErrorMessages {
    /** {@code java.io.IOException: } and the like, as {@code Throwable.toString()} puts them into wrapped messages. */
    private static final Pattern CLASS_PREFIX =
            Pattern.compile("(?:[a-z][a-z0-9_]*\\.)+[A-Z][A-Za-z0-9_$]*(?:Exception|Error): ");

    private ErrorMessages() {}

    /** Errors of bad input or environment, whose message is the whole story. */
    private static boolean expected(Throwable t) {
        return t instanceof IOException || t instanceof UncheckedIOException || t instanceof IllegalArgumentException
                || t instanceof IllegalStateException || t instanceof UnsupportedOperationException
                || t.getClass().getName().startsWith("io.lcmlora.");
    }

    static String describe(Throwable ex) {
        Throwable t = ex;
        if (t instanceof UncheckedIOException u && u.getCause() != null
                && (u.getMessage() == null || u.getMessage().equals(u.getCause().toString()))) {
            t = u.getCause();
        }
        String msg;
        if (t instanceof FileSystemException fs) {
            msg = (fs.getFile() == null ? "" : fs.getFile() + ": ") + AtomicFiles.reason(fs)
                    + (fs.getOtherFile() == null ? "" : " (" + fs.getOtherFile() + ")");
        } else if (expected(t) && t.getMessage() != null) {
            msg = t.getMessage();
        } else if (t.getMessage() != null) {
            msg = t.getMessage() + " (" + t.getClass().getSimpleName() + "; set LCM_DEBUG=1 for the stack trace)";
        } else {
            return "internal error: " + t + " (please report it; set LCM_DEBUG=1 for the stack trace)";
        }
        return CLASS_PREFIX.matcher(msg).replaceAll("");
    }
}
