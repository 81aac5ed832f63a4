package io.lcmlora.train.parallel;

/**
 * Marks a failure that every rank of the job detects the same way at the same point (decided on values all ranks
 * share, e.g. after a collective): {@link World#run} then ends each rank with its message and a clean
 * {@code MPI_Finalize} instead of aborting the job from one rank.
 */
public interface AgreedFailure {}
