package io.lcmlora.cli;

import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.io.TensorInfo;
import java.io.IOException;
import java.util.Arrays;

/** Token-id tensors ([batch, tokens], an integer dtype) read from a forward command's inputs file. */
final class TokenIdsInput {
    private TokenIdsInput() {}

    /** The rows of {@code name}, or null when the tensor is absent and not {@code required}. */
    static int[][] read(SafeTensorsFile f, String name, boolean required) throws IOException {
        if (!f.contains(name)) {
            if (required) {
                throw new IllegalArgumentException(f.path() + ": tensor '" + name + "' is missing (expected token ids, "
                        + "an integer tensor [batch, tokens]); present: " + f.tensors().keySet());
            }
            return null;
        }
        TensorInfo t = f.info(name);
        long[] shape = t.shape();
        if (t.dtype().isFloating() || shape.length != 2 || shape[0] < 1 || shape[1] < 1) {
            throw new IllegalArgumentException(f.path() + ": tensor '" + name + "' is " + t.dtype() + " " + Arrays.toString(shape)
                    + ", expected integer token ids of shape [batch, tokens]");
        }
        long[] v = f.longs(name);
        int b = Math.toIntExact(shape[0]);
        int n = Math.toIntExact(shape[1]);
        int[][] out = new int[b][n];
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < n; j++) {
                long id = v[i * n + j];
                if (id < 0 || id > Integer.MAX_VALUE) {
                    throw new IllegalArgumentException(f.path() + ": " + name + "[" + i + ", " + j + "] = " + id + " is not a token id");
                }
                out[i][j] = (int) id;
            }
        }
        return out;
    }
}
