package io.lcmlora.singlefile;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import java.util.Arrays;

/**
 * Where a model parameter comes from in a single-file checkpoint: a file key (relative to the component prefix)
 * and how the stored tensor becomes the parameter.
 *
 * @param fileKey the key under the component's prefix ({@code transformer.resblocks.0.attn.in_proj_weight})
 * @param transform the value change between the file tensor and the parameter
 */
public record TensorSource(String fileKey, Transform transform) {
    public TensorSource {
        if (fileKey == null || fileKey.isEmpty() || transform == null) {
            throw new IllegalArgumentException("TensorSource needs a file key and a transform");
        }
    }

    public static TensorSource same(String fileKey) {
        return new TensorSource(fileKey, Transform.SAME);
    }

    /** How a stored tensor becomes the parameter; values are never changed, only selected or re-laid out. */
    public enum Transform {
        /** Stored as the parameter. */
        SAME,
        /** A 1x1 conv weight [C, C, 1, 1] used as a Linear weight [C, C] (a [C, C] tensor is taken as is). */
        SQUEEZE_1X1,
        /** Stored transposed: [in, out] in the file, [out, in] as a Linear weight. */
        TRANSPOSE,
        /** Rows [0, d) of a fused q/k/v tensor [3d, ...] (OpenCLIP {@code in_proj_*}). */
        FUSED_Q,
        /** Rows [d, 2d) of a fused q/k/v tensor. */
        FUSED_K,
        /** Rows [2d, 3d) of a fused q/k/v tensor. */
        FUSED_V;

        /** Whether a file tensor of shape {@code file} gives a parameter of shape {@code param}. */
        public boolean accepts(long[] file, long[] param) {
            return switch (this) {
                case SAME -> Arrays.equals(file, param);
                case SQUEEZE_1X1 -> Arrays.equals(file, param)
                        || (param.length == 2 && Arrays.equals(file, new long[] {param[0], param[1], 1, 1}));
                case TRANSPOSE -> param.length == 2 && Arrays.equals(file, new long[] {param[1], param[0]});
                case FUSED_Q, FUSED_K, FUSED_V -> param.length >= 1 && Arrays.equals(file, fusedShape(param));
            };
        }

        /** The file shape this transform expects for a parameter of shape {@code param} (for error messages). */
        public String expectedFileShape(long[] param) {
            return switch (this) {
                case SAME -> Arrays.toString(param);
                case SQUEEZE_1X1 -> Arrays.toString(param) + " or " + Arrays.toString(new long[] {param[0], param[1], 1, 1})
                        + " (1x1 conv)";
                case TRANSPOSE -> Arrays.toString(new long[] {param[1], param[0]}) + " (stored transposed)";
                case FUSED_Q, FUSED_K, FUSED_V -> Arrays.toString(fusedShape(param)) + " (q/k/v fused)";
            };
        }

        /** The parameter from the file tensor (already checked with {@link #accepts}); a view where possible. */
        public NDArray apply(NDArray file, long[] param) {
            return switch (this) {
                case SAME -> file;
                case SQUEEZE_1X1 -> file.getShape().dimension() == 2 ? file : file.reshape(param); // [C, C, 1, 1] -> [C, C]
                case TRANSPOSE -> file.transpose(); // [in, out] -> [out, in]
                case FUSED_Q, FUSED_K, FUSED_V -> {
                    long d = param[0];
                    long part = ordinal() - FUSED_Q.ordinal();
                    yield file.get(new NDIndex("{}:{}", part * d, (part + 1) * d)); // [3d, ...] -> [d, ...]
                }
            };
        }

        public boolean fused() {
            return this == FUSED_Q || this == FUSED_K || this == FUSED_V;
        }

        private static long[] fusedShape(long[] param) {
            long[] f = param.clone();
            f[0] = 3 * param[0];
            return f;
        }
    }
}
