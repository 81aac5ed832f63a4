package io.lcmlora.train.data;

import java.io.IOException;

/** An example that cannot be used, with the reason it is counted under in the {@link SkipCounter}. */
public final class SkipException extends IOException {
    private final String reason;

    public SkipException(String reason, String detail) {
        super(reason + ": " + detail);
        this.reason = reason;
    }

    public String reason() {
        return reason;
    }
}
