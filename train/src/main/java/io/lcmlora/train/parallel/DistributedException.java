package io.lcmlora.train.parallel;

/** A problem every rank of the job detected the same way (mismatched configs, a batch the world cannot split). */
public final class DistributedException extends RuntimeException implements AgreedFailure {
    public DistributedException(String message) {
        super(message);
    }
}
