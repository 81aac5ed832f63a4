package ai.djl.pytorch.jni;

import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;

/**
 * A lean call of one TorchScript method on tensors and primitive (int, float) arguments, with autograd as the
 * caller's grad mode says. It lives in DJL's package because the JNI entry points it needs are package-private in
 * DJL 0.36.0 ({@code PyTorchLibrary}); the public route ({@code IValueUtils.forward}) packs an {@code NDList}, parses
 * every input's name for a method marker and nested containers and takes tensors only, which cost about as much as
 * the op itself on small activations. The signatures used here are those of DJL 0.36.0, the version this project
 * pins.
 */
public final class TorchScriptCall {
    private TorchScriptCall() {}

    /** A new IValue holding (a reference to) the tensor; delete it with {@link #delete}. */
    public static long tensor(PtNDArray x) {
        return PyTorchLibrary.LIB.iValueFromTensor(x.getHandle());
    }

    /** A new IValue of a TorchScript {@code int}. */
    public static long integer(long v) {
        return PyTorchLibrary.LIB.iValueFromLong(v);
    }

    /** A new IValue of a TorchScript {@code float}. */
    public static long real(double v) {
        return PyTorchLibrary.LIB.iValueFromDouble(v);
    }

    public static void delete(long ivalue) {
        PyTorchLibrary.LIB.torchDeleteIValue(ivalue);
    }

    /**
     * Runs {@code method} of {@code module} on the IValues (not consumed) and returns its single tensor result,
     * attached to {@code manager}. Autograd records the call when grad mode is on (DJL's "train" flag: no inference
     * guard), exactly as {@code IValueUtils.forward(module, inputs, true)} does.
     */
    public static PtNDArray run(PtSymbolBlock module, String method, PtNDManager manager, long... ivalues) {
        long result = PyTorchLibrary.LIB.moduleRunMethod(module.getHandle(), method, ivalues, true, false);
        try {
            return new PtNDArray(manager, PyTorchLibrary.LIB.iValueToTensor(result));
        } finally {
            PyTorchLibrary.LIB.torchDeleteIValue(result);
        }
    }
}
