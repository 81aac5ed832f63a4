package io.lcmlora.train.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lcmlora.train.config.DataConfig;
import io.lcmlora.train.config.TrainConfig;
import io.lcmlora.train.loop.Rng;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DataSourcesTest {
    private static DataConfig data(String source, Path path, String... sets) {
        List<String> all = new ArrayList<>(List.of("data.source=" + source, "data.paths=['" + path + "']",
                "data.resolution=16", "data.crop=center", "data.fix_crop_and_size=false"));
        all.addAll(List.of(sets));
        return TrainConfig.parse("", all).data();
    }

    private static List<ImageDataset.Example> loadAll(ImageDataset ds) {
        List<ImageDataset.Example> out = new ArrayList<>();
        Rng rng = Rng.seeded(1);
        for (int i = 0; i < ds.size(); i++) {
            ds.load(i, rng).ifPresent(out::add);
        }
        return out;
    }

    @Test
    void folderWithCaptionsSkipsAndCountsBadImages(@TempDir Path dir) throws IOException {
        Files.write(dir.resolve("a.png"), TestImages.png(20, 16, 0xFF0000));
        Files.writeString(dir.resolve("a.txt"), "  a red box\n");
        Files.write(dir.resolve("b.jpg"), TestImages.encode(TestImages.solid(16, 16, 0x00FF00), "jpg"));
        Files.writeString(dir.resolve("b.txt"), "green");
        Files.write(dir.resolve("c.png"), TestImages.png(16, 16, 0)); // no caption
        Files.createDirectories(dir.resolve("sub"));
        BufferedImage rgba = new BufferedImage(16, 16, BufferedImage.TYPE_INT_ARGB); // fully transparent
        rgba.setRGB(0, 0, 0xFF000000); // one opaque black pixel
        Files.write(dir.resolve("sub/d.png"), TestImages.encode(rgba, "png"));
        Files.writeString(dir.resolve("sub/d.txt"), "transparent");
        Files.write(dir.resolve("e.png"), TestImages.corruptPng());
        Files.writeString(dir.resolve("e.txt"), "corrupt");
        Files.write(dir.resolve("f.jpg"), "not an image at all".getBytes(StandardCharsets.UTF_8));
        Files.writeString(dir.resolve("f.txt"), "text");
        Files.writeString(dir.resolve("notes.md"), "ignored");

        ImageCaptionSource src = ImageCaptionSource.open(data("folder", dir));
        assertEquals(5, src.size());
        ImageDataset ds = ImageDataset.of(src, data("folder", dir));
        List<ImageDataset.Example> ex = loadAll(ds);
        assertEquals(List.of("a.png", "b.jpg", "sub/d.png"), ex.stream().map(ImageDataset.Example::id).toList());
        assertEquals("a red box", ex.get(0).caption());
        assertEquals(1, ds.skips().count("no caption"));
        assertEquals(2, ds.skips().count("unreadable image"));
        assertTrue(ds.skips().report().contains("e.png"), ds.skips().report());
        // Alpha composited on white: the transparent area is +1 in every channel, the black pixel -1.
        float[] d = ex.get(2).image().pixels();
        assertEquals(1f, d[16 * 16 - 1]);
        assertEquals(-1f, d[0]);
        // A red 20x16 image at 16 px: cover-resize to 20x16, centre crop left = round(4 / 2) = 2.
        MicroConditioning mc = ex.get(0).image().conditioning();
        assertEquals(new MicroConditioning(16, 20, 0, 2, 16, 16), mc);
        assertEquals(1f, ex.get(0).image().pixels()[0], 1e-6f);
        assertEquals(-1f, ex.get(0).image().pixels()[16 * 16], 1e-6f);
    }

    @Test
    void jsonlManifestWithSizesAndBadLines(@TempDir Path dir) throws IOException {
        Files.createDirectories(dir.resolve("imgs"));
        Files.write(dir.resolve("imgs/1.png"), TestImages.png(32, 16, 0x0000FF));
        Files.write(dir.resolve("imgs/2.png"), TestImages.png(16, 16, 0xFFFFFF));
        Files.writeString(dir.resolve("m.jsonl"), String.join("\n",
                "{\"image\": \"imgs/1.png\", \"caption\": \"blue\", \"original_width\": 3000, \"original_height\": 1500}",
                "",
                "{\"file_name\": \"imgs/2.png\", \"text\": \"white\"}",
                "{not json",
                "{\"image\": \"imgs/2.png\"}",
                "{\"image\": \"imgs/missing.png\", \"caption\": \"gone\"}") + "\n");
        ImageDataset ds = ImageDataset.of(ImageCaptionSource.open(data("jsonl", dir.resolve("m.jsonl"))),
                data("jsonl", dir.resolve("m.jsonl")));
        assertEquals(3, ds.size());
        List<ImageDataset.Example> ex = loadAll(ds);
        assertEquals(2, ex.size());
        assertEquals("blue", ex.get(0).caption());
        // The recorded original size wins over the decoded one; 32x16 -> 32x16 (cover 16), centre left 8.
        assertEquals(new MicroConditioning(1500, 3000, 0, 8, 16, 16), ex.get(0).image().conditioning());
        assertEquals("white", ex.get(1).caption());
        assertEquals(2, ds.skips().count("bad manifest line"));
        assertEquals(1, ds.skips().count("read error"));
    }

    @Test
    void webdatasetShardsGroupByKeyAndRefuseUnsafeMembers(@TempDir Path dir) throws IOException {
        byte[] jpg = TestImages.encode(TestImages.solid(16, 16, 0x808080), "jpg");
        int third = 512 + (jpg.length + 511) / 512 * 512 + 1024; // offset of the third member's header
        byte[] tar = new TestImages.Tar()
                .file("000.jpg", jpg)
                .text("000.txt", "grey")
                .file("part/001.png", TestImages.png(24, 16, 0x00FF00))
                .text("part/001.json", "{\"caption\": \"green\", \"width\": 2048, \"height\": 1024}")
                .text("../evil.txt", "escape attempt")
                .file("/abs.png", TestImages.png(16, 16, 0))
                .text("a/../../x.txt", "escape attempt")
                .file("002.png", TestImages.png(16, 16, 0)) // no caption
                .entry("dir/", '5', new byte[0], "")
                .entry("link.png", '2', new byte[0], "/etc/passwd")
                .paxPath("long/" + "n".repeat(120) + "/003.png")
                .file("ignored-name.png", TestImages.png(16, 16, 0xFF00FF))
                .text("long/" + "n".repeat(120) + "/003.txt", "magenta")
                .file("004.png", TestImages.corruptPng())
                .text("004.txt", "corrupt")
                .text("005.json", "{\"caption\": 5}")
                .file("005.png", TestImages.png(16, 16, 0))
                .bytes();
        Path shard = Files.write(dir.resolve("shard-000.tar"), tar);
        long before = countFiles(dir);
        ImageDataset ds = ImageDataset.of(ImageCaptionSource.open(data("webdataset", dir)), data("webdataset", dir));
        assertEquals(5, ds.size()); // 000, part/001, long/.../003, 004, 005
        List<ImageDataset.Example> ex = loadAll(ds);
        assertEquals(List.of("grey", "green", "magenta"), ex.stream().map(ImageDataset.Example::caption).toList());
        assertEquals("shard-000.tar:part/001", ex.get(1).id());
        assertEquals(new MicroConditioning(1024, 2048, 0, 4, 16, 16), ex.get(1).image().conditioning());
        assertEquals(3, ds.skips().count("unsafe tar member"));
        assertEquals(1, ds.skips().count("non-file tar member"));
        assertEquals(2, ds.skips().count("no caption")); // 002 at indexing, 005 (json caption not a string) at load
        assertEquals(1, ds.skips().count("unreadable image"));
        assertTrue(ds.skips().report().contains("../evil.txt"), ds.skips().report());
        assertEquals(before, countFiles(dir)); // nothing extracted
        assertFalse(Files.exists(dir.getParent().resolve("evil.txt")));

        // Truncated mid-member: the members before the cut remain.
        try (RandomAccessFile f = new RandomAccessFile(shard.toFile(), "rw")) {
            f.setLength(third + 512 + 100);
        }
        try (ImageCaptionSource cut = ImageCaptionSource.open(data("webdataset", shard))) {
            assertEquals(1, cut.size());
            assertEquals(1, cut.skips().count("truncated tar"));
            assertEquals("grey", cut.read(0).caption());
        }
        // A header with a bad checksum ends the shard.
        byte[] bad = tar.clone();
        bad[third + 10] ^= 0x55; // inside the third header's name
        Files.write(shard, bad);
        try (ImageCaptionSource src = ImageCaptionSource.open(data("webdataset", shard))) {
            assertEquals(1, src.skips().count("corrupt tar header"));
            assertEquals(1, src.size());
        }
        assertThrows(IOException.class, () -> ImageCaptionSource.open(data("webdataset", dir.resolve("nope.tar"))));
    }

    @Test
    void tinyConfigImagesLoad() throws IOException {
        Path root = Path.of(System.getProperty("golden.dir")).getParent().getParent();
        TrainConfig tiny = TrainConfig.load(root.resolve("configs/tiny.yaml"),
                List.of("data.paths=['" + root.resolve("testdata/tiny-images") + "']"));
        ImageDataset ds = ImageDataset.of(ImageCaptionSource.open(tiny.data()), tiny.data());
        List<ImageDataset.Example> ex = loadAll(ds);
        assertEquals(4, ex.size(), ds.skips().report());
        assertEquals(0, ds.skips().total());
        for (ImageDataset.Example e : ex) {
            assertEquals(3 * 64 * 64, e.image().pixels().length);
            assertEquals(MicroConditioning.fixed(64, 64), e.image().conditioning());
        }
        assertEquals("a blue circle on a white background", ex.get(0).caption());
    }

    @Test
    void safeNames() {
        assertEquals("a/b.txt", TarReader.safeName("./a/b.txt"));
        assertEquals("a..b.txt", TarReader.safeName("a..b.txt"));
        for (String bad : List.of("../x", "/etc/passwd", "a/../../b", "a\\..\\b", "C:/x", "..")) {
            assertEquals(null, TarReader.safeName(bad), bad);
        }
    }

    @Test
    void randomCropAndFlipFollowTheRng() throws IOException {
        // Left half black, right half white, 40x20; target 16 -> resized 32x16, random left in [0, 16].
        BufferedImage img = new BufferedImage(40, 20, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 20; y++) {
            for (int x = 20; x < 40; x++) {
                img.setRGB(x, y, 0xFFFFFF);
            }
        }
        Preprocess p = new Preprocess(DataConfig.Crop.RANDOM, true, false, DataConfig.Interpolation.BILINEAR);
        Rng a = Rng.seeded(9);
        Rng b = Rng.seeded(9);
        boolean sawFlip = false;
        boolean sawPlain = false;
        for (int i = 0; i < 20; i++) {
            Preprocess.Processed x = p.apply(img, 16, 16, 0, 0, a);
            Preprocess.Processed y = p.apply(img, 16, 16, 0, 0, b);
            assertArrayEquals(x.pixels(), y.pixels());
            assertEquals(x.conditioning(), y.conditioning());
            int left = x.conditioning().cropLeft();
            assertTrue(left >= 0 && left <= 16);
            // Column 0 of the output is source column `left` (or 31 - left when flipped): black before 16, white after.
            int src = x.flipped() ? 31 - left : left;
            float expected = src < 15 ? -1f : src > 16 ? 1f : Float.NaN;
            if (!Float.isNaN(expected)) {
                assertEquals(expected, x.pixels()[0], 1e-5f, "left " + left + " flipped " + x.flipped());
            }
            sawFlip |= x.flipped();
            sawPlain |= !x.flipped();
        }
        assertTrue(sawFlip && sawPlain);
        Preprocess fixed = new Preprocess(DataConfig.Crop.RANDOM, false, true, DataConfig.Interpolation.BICUBIC);
        assertEquals(MicroConditioning.fixed(16, 16), fixed.apply(img, 16, 16, 0, 0, a).conditioning());
    }

    @Test
    void centreCropRoundsHalfToEvenAsPython() throws IOException {
        // 330x200 at 64: torchvision Resize(64) -> 105x64; left = round(41 / 2) = round(20.5) = 20 in Python.
        Preprocess p = new Preprocess(DataConfig.Crop.CENTER, false, false, DataConfig.Interpolation.BILINEAR);
        MicroConditioning mc = p.apply(TestImages.solid(330, 200, 0x123456), 64, 64, 0, 0, Rng.seeded(1)).conditioning();
        assertEquals(new MicroConditioning(200, 330, 0, 20, 64, 64), mc);
        // 340x200 -> 108x64; left = round(22.0) = 22. Portrait 200x330 -> 64x105, top 20.
        assertEquals(22, p.apply(TestImages.solid(340, 200, 0), 64, 64, 0, 0, Rng.seeded(1)).conditioning().cropLeft());
        assertEquals(20, p.apply(TestImages.solid(200, 330, 0), 64, 64, 0, 0, Rng.seeded(1)).conditioning().cropTop());
        // A constant colour stays exactly that colour through resize and crop: 0x12 = 18 -> 18/255*2-1.
        float[] px = p.apply(TestImages.solid(330, 200, 0x123456), 64, 64, 0, 0, Rng.seeded(1)).pixels();
        assertEquals(18f / 255f * 2f - 1f, px[0], 1e-6f);
        assertEquals(0x56 / 255f * 2f - 1f, px[2 * 64 * 64 + 100], 1e-6f);
    }

    private static long countFiles(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.count();
        }
    }
}
