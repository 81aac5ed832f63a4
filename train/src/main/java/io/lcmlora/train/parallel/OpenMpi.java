package io.lcmlora.train.parallel;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.PointerByReference;

/**
 * The few MPI calls data-parallel training needs, bound to Open MPI's {@code libmpi.so.40} through JNA. Open MPI's
 * handles ({@code MPI_COMM_WORLD}, {@code MPI_FLOAT}, {@code MPI_SUM}, ...) are the addresses of exported globals
 * ({@code ompi_mpi_comm_world}, ...), and {@code MPI_IN_PLACE} is {@code (void*) 1}; MPICH uses integer handles,
 * so this binding is Open MPI only (checked at load: a libmpi without these symbols is refused with that message).
 */
final class OpenMpi {
    /** The C functions (all return an MPI error code; with the default MPI_ERRORS_ARE_FATAL a failure aborts). */
    interface Lib extends Library {
        int MPI_Init_thread(Pointer argc, Pointer argv, int required, IntByReference provided);

        int MPI_Comm_rank(Pointer comm, IntByReference rank);

        int MPI_Comm_size(Pointer comm, IntByReference size);

        int MPI_Allreduce(Pointer send, Pointer recv, int count, Pointer datatype, Pointer op, Pointer comm);

        int MPI_Allgather(Pointer send, int sendCount, Pointer sendType, Pointer recv, int recvCount, Pointer recvType,
                Pointer comm);

        int MPI_Ibarrier(Pointer comm, PointerByReference request);

        int MPI_Test(PointerByReference request, IntByReference flag, Pointer status);

        int MPI_Abort(Pointer comm, int code);

        int MPI_Finalize();
    }

    /** {@code MPI_THREAD_FUNNELED}: only the thread that initialised MPI calls it (the training thread). */
    static final int THREAD_FUNNELED = 1;
    static final Pointer IN_PLACE = Pointer.createConstant(1);

    final Lib lib;
    final Pointer commWorld;
    final Pointer floatType;
    final Pointer doubleType;
    final Pointer longType;
    final Pointer sum;

    private OpenMpi(Lib lib, NativeLibrary nl) {
        this.lib = lib;
        this.commWorld = handle(nl, "ompi_mpi_comm_world");
        this.floatType = handle(nl, "ompi_mpi_float");
        this.doubleType = handle(nl, "ompi_mpi_double");
        this.longType = handle(nl, "ompi_mpi_long");
        this.sum = handle(nl, "ompi_mpi_op_sum");
    }

    /** Loads {@code libmpi} (name overridable with {@code LCM_MPI_LIBRARY}, e.g. a CUDA-aware build's path). */
    static OpenMpi load() {
        String name = System.getenv().getOrDefault("LCM_MPI_LIBRARY", "mpi");
        NativeLibrary nl;
        try {
            nl = NativeLibrary.getInstance(name);
        } catch (UnsatisfiedLinkError e) {
            throw new IllegalStateException("cannot load the Open MPI library '" + name + "' (" + e.getMessage()
                    + "): install Open MPI (Debian/Ubuntu: apt-get install openmpi-bin libopenmpi-dev) or set "
                    + "LCM_MPI_LIBRARY to the path of libmpi.so", e);
        }
        return new OpenMpi(Native.load(name, Lib.class), nl);
    }

    private static Pointer handle(NativeLibrary nl, String symbol) {
        try {
            return nl.getGlobalVariableAddress(symbol);
        } catch (UnsatisfiedLinkError e) {
            throw new IllegalStateException(nl.getFile() + " has no symbol " + symbol + ": this binding needs Open MPI "
                    + "(MPICH and Intel MPI use integer handles); point LCM_MPI_LIBRARY at an Open MPI libmpi.so", e);
        }
    }

    static void check(int rc, String call) {
        if (rc != 0) {
            throw new IllegalStateException(call + " failed with MPI error " + rc);
        }
    }
}
