package io.lcmlora.model.vae;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.lcmlora.io.SafeTensorsFile;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Parity with diffusers 0.25.1 AutoencoderKL on the tiny golden VAE (testdata/golden/vae, README section 2). */
class AutoencoderKLTest {
    static final double TOL = 1e-4;
    static final Path DIR = Path.of(System.getProperty("golden.dir"), "vae");
    static NDManager manager;
    static AutoencoderKL vae;
    static SafeTensorsFile cases;

    @BeforeAll
    static void load() throws IOException {
        manager = NDManager.newBaseManager();
        vae = AutoencoderKL.load(DIR, manager, DataType.FLOAT32);
        cases = SafeTensorsFile.open(DIR.resolve("cases.safetensors"));
    }

    @AfterAll
    static void close() throws IOException {
        cases.close();
        manager.close();
    }

    static NDArray golden(String name) throws IOException {
        return cases.load(name, manager);
    }

    static double maxAbs(NDArray actual, NDArray expected) {
        assertArrayEquals(expected.getShape().getShape(), actual.getShape().getShape(), "shape");
        return actual.toType(DataType.FLOAT64, false).sub(expected.toType(DataType.FLOAT64, false)).abs().max()
                .getDouble();
    }

    static void assertClose(String what, NDArray actual, NDArray expected, double tol) {
        double d = maxAbs(actual, expected);
        System.out.printf("vae %s: max abs %.3g%n", what, d);
        assertTrue(d <= tol, what + ": max abs " + d + " > " + tol);
    }

    @Test
    void encodeMatchesGolden() throws IOException {
        DiagonalGaussianDistribution dist = vae.encode(golden("image"));
        assertClose("mean", dist.mean(), golden("latent_mean"), TOL);
        assertClose("logvar", dist.logvar(), golden("latent_logvar"), TOL);
        assertClose("std", dist.std(), golden("latent_std"), TOL);
        assertClose("sample", dist.sample(golden("sample_eps")), golden("latent_sample"), TOL);
        assertClose("sample_scaled", dist.sample(golden("sample_eps")).mul(vae.config().scalingFactor()),
                golden("latent_sample_scaled"), TOL);
    }

    @Test
    void decodeMatchesGolden() throws IOException {
        NDArray unscaled = golden("decode_in_scaled").div(vae.config().scalingFactor());
        assertClose("decode_in", unscaled, golden("decode_in"), 1e-6);
        assertClose("decode", vae.decode(golden("decode_in")), golden("decode_out"), TOL);
        assertClose("decode_roundtrip", vae.decode(golden("latent_sample")), golden("decode_roundtrip"), TOL);
    }

    /**
     * Slicing is exact in math (every op is per sample); the float32 results differ only by the kernels' batch-size
     * dependent summation order (measured 2.2e-6 on decode).
     */
    @Test
    void slicedIsTheSameAsWholeBatch() throws IOException {
        NDArray z = golden("decode_in");
        double d = maxAbs(vae.decode(z, AutoencoderKL.Chunking.slicing()), vae.decode(z));
        System.out.printf("vae sliced vs batch decode: max abs %.3g%n", d);
        assertTrue(d <= 1e-5, "sliced decode differs by " + d);
        NDArray x = golden("image");
        double e = maxAbs(vae.encode(x, AutoencoderKL.Chunking.slicing()).mean(), vae.encode(x).mean());
        System.out.printf("vae sliced vs batch encode: max abs %.3g%n", e);
        assertTrue(e <= 1e-5, "sliced encode differs by " + e);
        assertEquals(2, z.getShape().get(0));
    }
}
