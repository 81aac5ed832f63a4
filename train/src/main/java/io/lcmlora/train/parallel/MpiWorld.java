package io.lcmlora.train.parallel;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.PointerByReference;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A world of {@code mpirun}-launched processes over Open MPI's {@code MPI_COMM_WORLD}. Gradients are averaged with
 * one {@code MPI_Allreduce(MPI_IN_PLACE, MPI_SUM)} on a host buffer that holds all of them back to back plus one
 * float for the step's flag (allocated once, reused every step), then divided by the world size. Start-up (init and the first exchange) is guarded by a
 * watchdog: a rank that cannot reach the others within {@code LCM_DIST_TIMEOUT_S} seconds (default 300) prints why
 * and exits, and {@code mpirun} then stops the rest. A rank that dies later (kill -9, out of memory) makes
 * {@code mpirun} stop every other rank: no collective waits forever.
 */
final class MpiWorld implements World {
    private static final long CHUNK = 1L << 28; // floats per MPI_Allreduce call (count is an int)

    private final OpenMpi mpi;
    private final int rank;
    private final int size;
    private final int localRank;
    private Memory buffer;
    private boolean closed;

    private MpiWorld(OpenMpi mpi, int rank, int size, int localRank) {
        this.mpi = mpi;
        this.rank = rank;
        this.size = size;
        this.localRank = localRank;
    }

    static MpiWorld init() {
        int expected = Integer.parseInt(System.getenv("OMPI_COMM_WORLD_SIZE"));
        String envRank = System.getenv().getOrDefault("OMPI_COMM_WORLD_RANK", "?");
        long timeout = Long.parseLong(System.getenv().getOrDefault("LCM_DIST_TIMEOUT_S", "300"));
        Thread watchdog = watchdog(timeout, "rank " + envRank + " of " + expected + ": the other ranks did not join within "
                + timeout + " s (MPI_Init and the first exchange). Check that every host in the hostfile is reachable "
                + "from every other (ssh, firewall, the interface in OMPI_MCA_btl_tcp_if_include) and that every rank "
                + "was started; raise LCM_DIST_TIMEOUT_S for slow starts");
        OpenMpi mpi = OpenMpi.load();
        IntByReference provided = new IntByReference();
        OpenMpi.check(mpi.lib.MPI_Init_thread(Pointer.NULL, Pointer.NULL, OpenMpi.THREAD_FUNNELED, provided),
                "MPI_Init_thread");
        IntByReference r = new IntByReference();
        IntByReference s = new IntByReference();
        OpenMpi.check(mpi.lib.MPI_Comm_rank(mpi.commWorld, r), "MPI_Comm_rank");
        OpenMpi.check(mpi.lib.MPI_Comm_size(mpi.commWorld, s), "MPI_Comm_size");
        int localRank = Integer.parseInt(System.getenv().getOrDefault("OMPI_COMM_WORLD_LOCAL_RANK", "0"));
        MpiWorld w = new MpiWorld(mpi, r.getValue(), s.getValue(), localRank);
        w.gather(w.rank); // everyone is reachable
        watchdog.interrupt();
        return w;
    }

    private static Thread watchdog(long seconds, String message) {
        Thread t = new Thread(() -> {
            try {
                Thread.sleep(seconds * 1000);
            } catch (InterruptedException e) {
                return;
            }
            System.err.println("error: " + message);
            System.err.flush();
            Runtime.getRuntime().halt(3);
        }, "lcm-dist-watchdog");
        t.setDaemon(true);
        t.start();
        return t;
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public int localRank() {
        return localRank;
    }

    @Override
    public Reduced averageGradients(Map<String, NDArray> grads, boolean flag) {
        long total = 0;
        for (Map.Entry<String, NDArray> e : grads.entrySet()) {
            if (e.getValue().getDataType() != DataType.FLOAT32) {
                throw new IllegalArgumentException("gradient " + e.getKey() + " is " + e.getValue().getDataType()
                        + "; the all-reduce averages the fp32 master gradients");
            }
            total += e.getValue().size();
        }
        long slots = total + 1; // [gradients..., flag]: the flag's sum is the number of ranks that raised it
        if (buffer == null || buffer.size() != slots * Float.BYTES) {
            buffer = new Memory(slots * Float.BYTES);
        }
        buffer.setFloat(total * Float.BYTES, flag ? 1f : 0f);
        // 1. copy every gradient into the flat host buffer (one device-to-host copy each on a GPU)
        long offset = 0;
        for (NDArray g : grads.values()) {
            long bytes = g.size() * Float.BYTES;
            view(offset, bytes).put(g.toByteBuffer());
            offset += bytes;
        }
        // 2. sum over ranks in place, in chunks whose count fits an int
        for (long first = 0; first < slots; first += CHUNK) {
            int count = (int) Math.min(CHUNK, slots - first);
            Pointer p = buffer.share(first * Float.BYTES);
            OpenMpi.check(mpi.lib.MPI_Allreduce(OpenMpi.IN_PLACE, p, count, mpi.floatType, mpi.sum, mpi.commWorld),
                    "MPI_Allreduce of " + count + " gradient values");
        }
        // 3. divide by the world size and wrap each gradient's range as a new array on its device
        float inv = 1.0f / size;
        FloatBuffer f = view(0, total * Float.BYTES).asFloatBuffer();
        for (int i = 0; i < total; i++) {
            f.put(i, f.get(i) * inv);
        }
        Map<String, NDArray> out = new LinkedHashMap<>();
        offset = 0;
        for (Map.Entry<String, NDArray> e : grads.entrySet()) {
            NDArray g = e.getValue();
            long bytes = g.size() * Float.BYTES;
            out.put(e.getKey(), g.getManager().create(view(offset, bytes), g.getShape(), DataType.FLOAT32));
            offset += bytes;
        }
        return new Reduced(out, Math.round(buffer.getFloat(total * Float.BYTES)));
    }

    private ByteBuffer view(long offset, long bytes) {
        return buffer.getByteBuffer(offset, bytes).order(ByteOrder.nativeOrder());
    }

    @Override
    public double average(double value) {
        try (Memory m = new Memory(Double.BYTES)) {
            m.setDouble(0, value);
            OpenMpi.check(mpi.lib.MPI_Allreduce(OpenMpi.IN_PLACE, m, 1, mpi.doubleType, mpi.sum, mpi.commWorld),
                    "MPI_Allreduce of the loss");
            return m.getDouble(0) / size;
        }
    }

    @Override
    public long[] gather(long value) {
        try (Memory send = new Memory(Long.BYTES); Memory recv = new Memory((long) Long.BYTES * size)) {
            send.setLong(0, value);
            OpenMpi.check(mpi.lib.MPI_Allgather(send, 1, mpi.longType, recv, 1, mpi.longType, mpi.commWorld),
                    "MPI_Allgather");
            return recv.getLongArray(0, size);
        }
    }

    @Override
    public void barrier() {
        PointerByReference request = new PointerByReference();
        OpenMpi.check(mpi.lib.MPI_Ibarrier(mpi.commWorld, request), "MPI_Ibarrier");
        IntByReference done = new IntByReference();
        while (true) {
            OpenMpi.check(mpi.lib.MPI_Test(request, done, Pointer.NULL), "MPI_Test");
            if (done.getValue() != 0) {
                return;
            }
            try {
                Thread.sleep(20); // MPI_Barrier would spin a core while rank 0 builds the cache
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for the other ranks", e);
            }
        }
    }

    @Override
    public void abort(int code) {
        closed = true;
        mpi.lib.MPI_Abort(mpi.commWorld, code);
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            OpenMpi.check(mpi.lib.MPI_Finalize(), "MPI_Finalize");
        }
    }
}
