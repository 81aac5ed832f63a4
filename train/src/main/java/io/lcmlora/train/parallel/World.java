package io.lcmlora.train.parallel;

import ai.djl.Device;
import ai.djl.engine.Engine;
import io.lcmlora.engine.DeviceSpec;
import ai.djl.ndarray.NDArray;
import io.lcmlora.train.config.ConfigException;
import io.lcmlora.train.config.PrecisionConfig;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * The processes of one data-parallel job and the only collectives training uses: the seam between the training loop
 * and the distributed engine (Open MPI), in the role of accelerate's {@code Accelerator}. {@link #detect()} is the one
 * place that decides rank, world size and device; the loop calls {@link #averageGradients} once per optimizer step,
 * and everything that only rank 0 does (checkpoints, logs, TensorBoard, validation, export) sits behind
 * {@link #isMainProcess()}.
 *
 * <p>A process started without {@code mpirun} is a world of one ({@link #single()}), which loads no MPI at all.
 */
public interface World extends AutoCloseable {
    int rank();

    int size();

    /** The rank among the processes of this machine (picks the GPU). */
    int localRank();

    /** Rank 0: the process that writes checkpoints, logs, TensorBoard, validation images and the export. */
    default boolean isMainProcess() {
        return rank() == 0;
    }

    /**
     * The averages over ranks of each gradient (fp32), as new arrays, and how many ranks raised {@code flag}, from
     * one all-reduce (the flag travels with the gradients), so every rank takes the same decision on it. The inputs
     * are left as they are; the caller's step scope owns the results.
     */
    Reduced averageGradients(Map<String, NDArray> grads, boolean flag);

    /** What {@link #averageGradients} returns: the mean gradients and the number of ranks that raised the flag. */
    record Reduced(Map<String, NDArray> gradients, int flagged) {}

    /** The mean of {@code value} over ranks (the logged loss). */
    double average(double value);

    /** Every rank's {@code value}, by rank. */
    long[] gather(long value);

    /** Waits (without spinning the CPU) until every rank has arrived. */
    void barrier();

    /** Stops every process of the job now with this exit code (after a failure only one rank saw). */
    void abort(int code);

    @Override
    void close();

    /**
     * Ends with a {@link DistributedException} on every rank when {@code value} is not the same on all of them; the
     * message names {@code what}, the ranks and their values.
     */
    default void agree(String what, long value) {
        long[] all = gather(value);
        StringBuilder diff = new StringBuilder();
        for (int r = 1; r < all.length; r++) {
            if (all[r] != all[0]) {
                diff.append(diff.length() == 0 ? "" : ", ").append("rank ").append(r).append(" has ")
                        .append(Long.toHexString(all[r]));
            }
        }
        if (diff.length() > 0) {
            throw new DistributedException(what + " differs between ranks: rank 0 has " + Long.toHexString(all[0])
                    + ", " + diff + ". Every rank must run the same command with the same files");
        }
    }

    /**
     * The device of {@code precision.device} for this process: GPU {@code localRank % gpus} when asked (and present),
     * the CPU otherwise.
     */
    default Device device(PrecisionConfig p) {
        int gpus = Engine.getInstance().getGpuCount();
        DeviceSpec spec = p.deviceSpec();
        return switch (spec.kind()) {
            case CPU -> Device.cpu();
            case GPU -> {
                if (gpus == 0) {
                    throw new ConfigException("precision.device", "is " + p.device() + ", but the engine sees no GPU (a "
                            + "CPU-only libtorch is loaded; set PYTORCH_FLAVOR/PYTORCH_LIBRARY_PATH to a CUDA build) - or use cpu");
                }
                // several ranks: one GPU each by local rank; one process: the GPU the config names
                yield Device.gpu(size() > 1 ? localRank() % gpus : spec.index());
            }
            case AUTO -> gpus > 0 ? Device.gpu(localRank() % gpus) : Device.cpu();
        };
    }


    /** This process's world: Open MPI's when started by {@code mpirun} with more than one process, else one. */
    static World detect() {
        String size = System.getenv("OMPI_COMM_WORLD_SIZE");
        if (size == null || size.equals("1")) {
            return single();
        }
        return MpiWorld.init();
    }

    static World single() {
        return SingleProcess.INSTANCE;
    }

    /**
     * Runs a command on this world: an {@link AgreedFailure} (a problem every rank saw, such as a
     * {@link DistributedException}) ends each rank with its message; any other failure is printed with the rank and
     * stops the whole job ({@link #abort}), so the other ranks never wait for this one in a collective. The world is
     * closed afterwards.
     */
    static <T> T run(World world, Callable<T> command) throws Exception {
        try (world) {
            return command.call();
        } catch (RuntimeException e) {
            if (e instanceof AgreedFailure) {
                throw e;
            }
            stopEveryRank(world, e);
            throw e;
        } catch (Exception | Error e) {
            stopEveryRank(world, e);
            throw e;
        }
    }

    private static void stopEveryRank(World world, Throwable e) {
        if (world.size() > 1) {
            System.err.println("error on rank " + world.rank() + " of " + world.size() + ": "
                    + (e.getMessage() == null ? e.toString() : e.getMessage()) + " (stopping every rank)");
            System.err.flush();
            world.abort(1);
        }
    }
}
