package io.lcmlora.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.lcmlora.io.SafeTensorsFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ClipImageProcessor against transformers' CLIPImageProcessor: the golden {@code clip_score/pixel_values} (no
 * resize) and {@code testdata/clip_preprocess/} (Pillow's bicubic resize and the crop; re-make with its
 * {@code make_reference.py}).
 */
class ClipImageProcessorTest {
    static final Path GOLDEN = Path.of(System.getProperty("golden.dir"));
    static final Path RESIZE = GOLDEN.getParent().resolve("clip_preprocess/reference.safetensors");

    static double maxAbs(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }

    @Test
    void goldenPixelValues() throws IOException {
        try (SafeTensorsFile f = SafeTensorsFile.open(GOLDEN.resolve("clip_score/cases.safetensors"));
                NDManager m = NDManager.newBaseManager()) {
            NDArray pv = ClipImageProcessor.openai(32).apply(f.load("images_u8", m));
            double err = maxAbs(f.floats("pixel_values"), pv.toFloatArray());
            assertTrue(err <= 1e-6, "pixel_values max abs " + err);
        }
    }

    @Test
    void pillowBicubicResizeAndCrop() throws IOException {
        ClipImageProcessor p = ClipImageProcessor.openai(24);
        try (SafeTensorsFile f = SafeTensorsFile.open(RESIZE); NDManager m = NDManager.newBaseManager()) {
            for (String c : new String[] {"wide", "tall", "upscale", "exact"}) {
                long[] s = f.info(c + "_images_u8").shape();
                int h = (int) s[1];
                int w = (int) s[2];
                long[] rs = f.info(c + "_resized_u8").shape();
                int[] size = p.resizedSize(h, w);
                assertArrayEquals(new int[] {(int) rs[1], (int) rs[2]}, size, c + " resized size");
                // Pillow's 8-bit bicubic, band by band: bit-exact
                byte[] in = bytes(f, c + "_images_u8");
                byte[] want = bytes(f, c + "_resized_u8");
                for (int ch = 0; ch < 3; ch++) {
                    int[] plane = new int[h * w];
                    for (int i = 0; i < plane.length; i++) {
                        plane[i] = in[ch * h * w + i] & 0xFF;
                    }
                    int[] got = size[0] == h && size[1] == w ? plane : PilBicubic.resizeU8(plane, w, h, size[1], size[0]);
                    for (int i = 0; i < got.length; i++) {
                        assertEquals(want[ch * got.length + i] & 0xFF, got[i], c + " channel " + ch + " pixel " + i);
                    }
                }
                NDArray img = f.load(c + "_images_u8", m).expandDims(0);
                double err = maxAbs(f.floats(c + "_pixel_values"), p.apply(img).toFloatArray());
                System.out.printf("clip preprocess %-8s %dx%d -> %dx%d: max abs %.3g%n", c, h, w, size[0], size[1], err);
                assertTrue(err <= 1e-6, c + ": pixel_values max abs " + err);
            }
        }
    }

    private static byte[] bytes(SafeTensorsFile f, String name) throws IOException {
        var b = f.bytes(name);
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }

    @Test
    void preprocessorConfigIsReadOrRejected(@TempDir Path tmp) throws IOException {
        assertEquals(ClipImageProcessor.openai(224).shortestEdge(), ClipImageProcessor.forModel(tmp, 224).shortestEdge());
        Path f = tmp.resolve("preprocessor_config.json");
        Files.writeString(f, "{\"crop_size\": {\"height\": 224, \"width\": 224}, \"size\": {\"shortest_edge\": 256},"
                + " \"image_mean\": [0.5, 0.5, 0.5], \"image_std\": [0.5, 0.5, 0.5], \"rescale_factor\": 0.00392156862745098}");
        ClipImageProcessor p = ClipImageProcessor.forModel(tmp, 224);
        assertEquals(256, p.shortestEdge());
        assertEquals(224, p.cropSize());
        assertEquals(0.5f, p.mean()[1]);
        assertArrayEquals(new int[] {256, 384}, p.resizedSize(200, 300));
        Files.writeString(f, "{\"crop_size\": 336, \"size\": 336}");
        var e = assertThrows(IllegalArgumentException.class, () -> ClipImageProcessor.forModel(tmp, 224));
        assertTrue(e.getMessage().startsWith(f.toString()) && e.getMessage().contains("image_size 224"), e.getMessage());
    }
}
