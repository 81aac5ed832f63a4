package io.lcmlora.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class PreprocessingTest {
    /**
     * Expected values: Pillow 9.4.0 (Debian), {@code Image.fromarray(x, mode='F').resize((ow, oh), BICUBIC)} of
     * {@code np.random.RandomState(0).randint(0, 256, (h, w))} planes (the first call, then the second).
     */
    @Test
    void pilBicubicMatchesPillow() {
        float[] in1 = {172f, 47f, 117f, 192f, 67f, 251f, 195f, 103f, 9f, 211f, 21f, 242f, 36f, 87f, 70f, 216f, 88f, 140f, 58f, 193f};
        float[] out1 = {106.26701354980469f, 120.03485107421875f, 123.54448699951172f, 155.63607788085938f, 110.25920867919922f,
            124.649658203125f, 231.6876983642578f, 93.94190979003906f, 122.96818542480469f, 179.99423217773438f,
            94.02732849121094f, 92.72307586669922f, 116.0993423461914f, 98.97992706298828f, 73.66827392578125f,
            145.37875366210938f, 101.32023620605469f, 114.8830795288086f, 167.4175262451172f, 102.44674682617188f,
            141.05374145507812f};
        // 5x4 -> 3x7: downscale in x (antialiased, support 2 * 5/3), upscale in y
        assertArrayEquals(out1, PilBicubic.resize(in1, 5, 4, 3, 7), 2e-5f);
        float[] in2 = {230f, 39f, 87f, 174f, 88f, 81f, 165f, 25f, 77f, 72f, 9f, 148f, 115f, 208f, 243f, 197f, 254f, 79f,
            175f, 192f, 82f, 99f, 216f, 177f, 243f, 29f, 147f, 147f, 142f, 167f, 32f, 193f, 9f, 185f, 127f, 32f, 31f, 202f,
            244f, 151f, 163f, 254f, 203f, 114f, 183f, 28f, 34f, 128f, 128f, 164f, 53f, 133f, 38f, 232f};
        float[] out2 = {94.11034393310547f, 127.994140625f, 173.44630432128906f, 121.44380187988281f, 148.6910858154297f,
            127.10100555419922f, 173.34886169433594f, 118.78025817871094f, 98.68568420410156f, 157.39198303222656f,
            145.2440948486328f, 138.58135986328125f};
        assertArrayEquals(out2, PilBicubic.resize(in2, 9, 6, 4, 3), 2e-5f);
        // same size: a copy
        assertArrayEquals(in2, PilBicubic.resize(in2, 9, 6, 9, 6), 0f);
    }

    @Test
    void pytorchFidIsIdentityResizeAt299AndScalesTo01Range() {
        try (NDManager m = NDManager.newBaseManager()) {
            byte[] px = new byte[3 * 299 * 299];
            px[0] = (byte) 255;
            px[1] = (byte) 51;
            NDArray u8 = m.create(ByteBuffer.wrap(px), new Shape(1, 3, 299, 299), DataType.UINT8);
            float[] x = Preprocessing.PYTORCH_FID.apply(u8, 299).toFloatArray();
            assertEquals(1f, x[0], 0f);
            assertEquals(51f / 255f * 2f - 1f, x[1], 1e-7f);
            assertEquals(-1f, x[2], 0f);
            float[] c = Preprocessing.CLEAN_FID.apply(u8, 299).toFloatArray();
            assertEquals(127f / 128f, c[0], 0f);
            assertEquals(-77f / 128f, c[1], 0f);
            assertEquals(-1f, c[2], 0f);
        }
    }

    @Test
    void bilinearResizeHasNoAntialias() {
        try (NDManager m = NDManager.newBaseManager()) {
            // 4 -> 2 pixels per row: align_corners=False samples at 0.5 and 2.5, i.e. the means of pairs
            // (an antialiased filter would mix in the neighbours)
            NDArray x = m.create(new float[] {0, 10, 100, 1000}, new Shape(1, 1, 1, 4));
            NDArray y = io.lcmlora.nn.Ops.resizeBilinear(x, 1, 2);
            assertArrayEquals(new float[] {5, 550}, y.toFloatArray(), 1e-4f);
            assertThrows(IllegalArgumentException.class, () -> Preprocessing.parse("tf"));
            assertEquals(Preprocessing.CLEAN_FID, Preprocessing.parse("clean-fid"));
        }
    }
}
