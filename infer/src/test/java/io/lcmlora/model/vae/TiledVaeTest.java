package io.lcmlora.model.vae;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.lcmlora.io.SafeTensorsFile;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Tiled encode/decode (diffusers' enable_tiling). Tiling is not exact: each tile has its own GroupNorm statistics
 * and zero-padded borders, so the result is compared with the untiled one under a loose, measured bound; the tiling
 * machinery itself (which tile covers what, the linear blend, the crop) is checked exactly against tiles decoded on
 * their own.
 */
class TiledVaeTest {
    static final Path DIR = Path.of(System.getProperty("golden.dir"), "vae");
    static NDManager manager;
    static AutoencoderKL vae;
    static NDArray latents;

    @BeforeAll
    static void load() throws IOException {
        manager = NDManager.newBaseManager();
        vae = AutoencoderKL.load(DIR, manager, DataType.FLOAT32);
        try (SafeTensorsFile f = SafeTensorsFile.open(DIR.resolve("cases.safetensors"))) {
            latents = f.load("decode_in", manager); // [2, 4, 8, 8]
        }
    }

    @AfterAll
    static void close() {
        manager.close();
    }

    static float[] slice(NDArray x, String index) {
        return x.get(new NDIndex(index)).toFloatArray();
    }

    @Test
    void blendIsLinearOverTheOverlap() {
        NDArray a = manager.arange(0f, 12f).reshape(1, 1, 2, 6); // rows [0..5], [6..11]
        NDArray b = manager.full(new Shape(1, 1, 2, 5), 100f);
        // extent 4 along width: b[x] = a[6 - 4 + x] * (1 - x/4) + 100 * x/4 for x < 4
        float[] h = AutoencoderKL.blend(a, b, 4, 3).toFloatArray();
        float[] expectRow0 = {2f, 3 * 0.75f + 25f, 4 * 0.5f + 50f, 5 * 0.25f + 75f, 100f};
        for (int x = 0; x < 5; x++) {
            assertEquals(expectRow0[x], h[x], 1e-5, "row 0 col " + x);
            assertEquals(expectRow0[x] + (x < 4 ? 6 * (1 - x / 4f) : 0), h[5 + x], 1e-5, "row 1 col " + x);
        }
        // extent clamped to the shorter length (2 rows) along height
        float[] v = AutoencoderKL.blend(a, manager.zeros(new Shape(1, 1, 3, 6)), 8, 2).toFloatArray();
        assertEquals(0f, v[0], 0f); // y = 0: a[-2 + 0] = row 0, weight 1
        assertEquals(5f, v[5], 0f);
        assertEquals(6 * 0.5f, v[6], 1e-6); // y = 1: row 1 * (1 - 1/2)
        assertEquals(0f, v[12], 0f); // row 2 untouched
    }

    /**
     * Tile size 16 px -> 4 latents, start every 3 latents (0, 3, 6), blend over 4 px, crop to 12 px. The top-left 12x12
     * of the result is tile (0,0) alone; the next 12 columns are tile (0,1) blended with tile (0,0) by hand.
     */
    @Test
    void tilesAreDecodedAloneThenBlendedAndCropped() {
        NDArray tiled = vae.decode(latents, AutoencoderKL.Chunking.tiled(16));
        assertArrayEquals(new long[] {2, 3, 32, 32}, tiled.getShape().getShape());
        NDArray t00 = vae.decode(latents.get(new NDIndex(":, :, 0:4, 0:4"))); // [2, 3, 16, 16]
        NDArray t01 = vae.decode(latents.get(new NDIndex(":, :, 0:4, 3:7")));
        float[] got00 = slice(tiled, ":, :, 0:12, 0:12");
        float[] want00 = slice(t00, ":, :, 0:12, 0:12");
        assertArrayEquals(want00, got00, 1e-6f);
        float[] a = t00.toFloatArray();
        float[] b = t01.toFloatArray();
        float[] got01 = slice(tiled, ":, :, 0:12, 12:24");
        int k = 0;
        for (int bc = 0; bc < 2 * 3; bc++) {
            for (int y = 0; y < 12; y++) {
                for (int x = 0; x < 12; x++) {
                    int base = bc * 256 + y * 16;
                    double want = x < 4 ? a[base + 12 + x] * (1 - x / 4.0) + b[base + x] * (x / 4.0) : b[base + x];
                    assertEquals(want, got01[k++], 1e-5, "blended column " + x);
                }
            }
        }
    }

    /**
     * Random-weight VAEs are the worst case for tiling (the mid-block attention is global, GroupNorm statistics are
     * per tile), so tiled output is only loosely close to untiled; it must get closer as tiles grow. Measured on
     * this 12x12 latent: correlation with the untiled image 0.35 (16 px tiles), 0.74 (32 px = sample_size, diffusers'
     * default).
     */
    @Test
    void tiledDecodeApproachesUntiledAsTilesGrow() {
        Engine.getInstance().setRandomSeed(11);
        NDArray z = manager.randomNormal(new Shape(1, 4, 12, 12));
        NDArray full = vae.decode(z);
        NDArray small = vae.decode(z, AutoencoderKL.Chunking.tiled(16));
        NDArray large = vae.decode(z, AutoencoderKL.Chunking.tiled(vae.config().sampleSize()));
        assertArrayEquals(full.getShape().getShape(), small.getShape().getShape());
        assertArrayEquals(full.getShape().getShape(), large.getShape().getShape());
        double cSmall = report("decode 16 px", full, small);
        double cLarge = report("decode 32 px", full, large);
        assertTrue(cLarge > cSmall, "larger tiles should be closer to untiled: " + cLarge + " vs " + cSmall);
        assertTrue(cLarge > 0.7, "32 px tiles: correlation " + cLarge);
    }

    /** Measured: correlation 0.85 between the tiled (32 px tiles) and untiled latent means of a 64x64 image. */
    @Test
    void tiledEncodeIsCloseToUntiled() {
        Engine.getInstance().setRandomSeed(12);
        NDArray x = manager.randomNormal(new Shape(1, 3, 64, 64)).tanh();
        NDArray full = vae.encode(x).mean();
        NDArray tiled = vae.encode(x, AutoencoderKL.Chunking.tiled(32)).mean();
        assertArrayEquals(full.getShape().getShape(), tiled.getShape().getShape());
        assertTrue(report("encode mean 32 px", full, tiled) > 0.75);
    }

    @Test
    void unevenTileSizeIsRejected() {
        NDArray z = manager.zeros(new Shape(1, 4, 16, 16));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> vae.decode(z, AutoencoderKL.Chunking.tiled(24)));
        assertTrue(e.getMessage().contains("do not tile evenly"), e.getMessage());
    }

    /** Prints the differences; returns the correlation coefficient of tiled and untiled outputs. */
    static double report(String what, NDArray full, NDArray tiled) {
        NDArray diff = tiled.sub(full).abs();
        double max = diff.max().getFloat();
        double mean = diff.mean().getFloat();
        double scale = full.abs().mean().getFloat();
        NDArray a = full.sub(full.mean());
        NDArray b = tiled.sub(tiled.mean());
        double corr = a.mul(b).sum().getFloat() / Math.sqrt(a.square().sum().getFloat() * b.square().sum().getFloat());
        System.out.printf("vae tiled %s: max abs %.3g, mean abs %.3g, mean |untiled| %.3g, correlation %.3f%n", what, max,
                mean, scale, corr);
        return corr;
    }
}
