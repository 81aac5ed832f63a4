package io.lcmlora.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.lcmlora.nn.Ops;

/**
 * The Fréchet distance between Gaussians N(mu1, S1) and N(mu2, S2):
 * {@code |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2))}, all in float64.
 *
 * <p>pytorch-fid takes {@code scipy.linalg.sqrtm(S1 @ S2)} (a Schur method on a non-symmetric product),
 * keeps the real part when rounding leaves tiny imaginary parts (it raises if a diagonal one exceeds 1e-3)
 * and retries with {@code eps * I} added to both covariances if the result is not finite. Here the trace
 * comes from the symmetric form: S1 S2 is similar to {@code A = S1^(1/2) S2 S1^(1/2)}, symmetric positive
 * semi-definite, so {@code tr((S1 S2)^(1/2)) = sum_i sqrt(lambda_i(A))}. The eigenvalues are real by
 * construction; those within rounding of zero (a singular covariance, i.e. fewer samples than dimensions,
 * has many; rounding makes some of them tiny negatives) count as 0, which for the negative ones is the real
 * part of their imaginary square roots, i.e. pytorch-fid's "take the real part". The result is finite for finite inputs, so the eps retry never
 * triggers; {@link #compute(double[], double[][], double[], double[][], double)} still offers the offset.
 *
 * <p>The two symmetric eigendecompositions run in LAPACK through the engine ({@link Ops#psdSqrt},
 * {@link Ops#eigvalsh}): commons-math3's {@code EigenDecomposition} fails to converge on rank-deficient
 * 2048 x 2048 covariances. A {@link Reference} keeps {@code S1^(1/2)} of a reference set, so a sweep that
 * compares many sample sets with one reference decomposes it once.
 */
public final class FrechetDistance {
    private FrechetDistance() {}

    /**
     * The distance and its parts. {@code minEigenvalue} is the most negative eigenvalue of A before clamping,
     * relative to its largest (about -1e-15 from rounding; a clearly negative value means a covariance that
     * is not positive semi-definite).
     */
    public record Result(double value, double meanTerm, double trace1, double trace2, double traceSqrt,
            double minEigenvalue) {}

    public static Result compute(double[] mu1, double[][] sigma1, double[] mu2, double[][] sigma2) {
        return compute(mu1, sigma1, mu2, sigma2, 0.0);
    }

    /**
     * With {@code offset * I} added to both covariances inside the square root (pytorch-fid's fallback, eps
     * 1e-6); the traces are those of the given covariances, as there.
     */
    public static Result compute(double[] mu1, double[][] sigma1, double[] mu2, double[][] sigma2, double offset) {
        return new Reference(mu1, sigma1, offset).distance(mu2, sigma2);
    }

    /** The distance between two stats (their sample counts do not enter the formula). */
    public static Result compute(FeatureStats a, FeatureStats b) {
        return new Reference(a).distance(b);
    }

    /** A reference set's mean, trace and covariance square root, for distances to many other sets. */
    public static final class Reference {
        private final int dim;
        private final double[] mu;
        private final double trace;
        private final double offset;
        /** S^(1/2), row-major [D, D]. */
        private final double[] sqrt;

        public Reference(FeatureStats stats) {
            this(stats.mean(), stats.covariance(), 0.0);
        }

        public Reference(double[] mu, double[][] sigma) {
            this(mu, sigma, 0.0);
        }

        /** With {@code offset * I} added to this and every compared covariance inside the square root. */
        public Reference(double[] mu, double[][] sigma, double offset) {
            this.dim = mu.length;
            this.mu = mu.clone();
            this.offset = offset;
            double[] s = flatSymmetric(sigma, dim, offset, "sigma1");
            this.trace = trace(s, dim) - dim * offset;
            try (NDManager m = NDManager.newBaseManager()) {
                this.sqrt = Ops.psdSqrt(m.create(s, new Shape(dim, dim))).toDoubleArray();
            }
        }

        public int dim() {
            return dim;
        }

        public Result distance(FeatureStats other) {
            return distance(other.mean(), other.covariance());
        }

        public Result distance(double[] mu2, double[][] sigma2) {
            check(mu2.length == dim, "mu2 has " + mu2.length + " values, the reference has " + dim);
            double meanTerm = 0;
            for (int i = 0; i < dim; i++) {
                double diff = mu[i] - mu2[i];
                meanTerm += diff * diff;
            }
            double[] s2 = flatSymmetric(sigma2, dim, offset, "sigma2");
            double trace2 = trace(s2, dim) - dim * offset;
            double[] eig;
            try (NDManager m = NDManager.newBaseManager()) {
                NDArray root = m.create(sqrt, new Shape(dim, dim));
                // A = S1^(1/2) S2 S1^(1/2), symmetrised against rounding
                NDArray a = root.matMul(m.create(s2, new Shape(dim, dim))).matMul(root);
                a = a.add(a.transpose()).mul(Ops.scalar(a, 0.5));
                eig = Ops.eigvalsh(a).toDoubleArray();
            }
            double max = 0;
            double min = 0;
            for (double e : eig) {
                max = Math.max(max, e);
                min = Math.min(min, e);
            }
            // eigenvalues within rounding of zero (|lambda| <= D * eps * max) count as 0: otherwise each of
            // the many zero eigenvalues of a singular covariance adds sqrt(noise) ~ 1e-8 * sqrt(max)
            double zero = dim * Math.ulp(1.0) * max;
            double traceSqrt = 0;
            for (double e : eig) {
                traceSqrt += e > zero ? Math.sqrt(e) : 0.0;
            }
            double value = meanTerm + trace + trace2 - 2 * traceSqrt;
            check(Double.isFinite(value), "the Fréchet distance is not finite: the statistics contain NaN or infinity");
            return new Result(value, meanTerm, trace, trace2, traceSqrt, max > 0 ? min / max : min);
        }
    }

    /** (S + S^T)/2 + offset I, row-major, checked to be [d, d]. */
    private static double[] flatSymmetric(double[][] s, int d, double offset, String name) {
        check(s.length == d, name + " has " + s.length + " rows, expected " + d);
        double[] out = new double[d * d];
        for (int i = 0; i < d; i++) {
            check(s[i].length == d, name + " has a row of " + s[i].length + " values, expected " + d);
            for (int j = 0; j < d; j++) {
                out[i * d + j] = 0.5 * (s[i][j] + s[j][i]);
            }
            out[i * d + i] += offset;
        }
        return out;
    }

    private static double trace(double[] flat, int d) {
        double t = 0;
        for (int i = 0; i < d; i++) {
            t += flat[i * d + i];
        }
        return t;
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
