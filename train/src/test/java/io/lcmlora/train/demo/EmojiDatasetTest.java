package io.lcmlora.train.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import io.lcmlora.train.emoji.EmojiManifest;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmojiDatasetTest {
    @TempDir
    Path tmp;

    private static final String EMOJI_JSON = """
            [{"name":"GRINNING FACE","unified":"1F600","image":"1f600.png","short_names":["grinning"],
              "category":"Smileys & Emotion","subcategory":"face-smiling","has_img_twitter":true,"has_img_google":true},
             {"name":"FATHER CHRISTMAS","unified":"1F385","image":"1f385.png","short_names":["santa"],
              "category":"People & Body","subcategory":"person-fantasy","has_img_twitter":true,"has_img_google":false,
              "skin_variations":{"1F3FD":{"unified":"1F385-1F3FD","image":"1f385-1f3fd.png","has_img_twitter":true},
                                 "1F3FB-1F3FF":{"unified":"1F385-1F3FB-1F3FF","image":"1f385-x.png","has_img_twitter":true}}}]
            """;

    /** A 64x64 ARGB image: left half opaque red, right half red at alpha 128, top-left 2x2 block with known greys. */
    private static byte[] png() throws IOException {
        BufferedImage img = new BufferedImage(64, 64, BufferedImage.TYPE_INT_ARGB);
        for (int y = 0; y < 64; y++) {
            for (int x = 0; x < 64; x++) {
                img.setRGB(x, y, x < 32 ? 0xffff0000 : 0x80ff0000);
            }
        }
        img.setRGB(0, 0, 0xff000000);
        img.setRGB(1, 0, 0xff010101);
        img.setRGB(0, 1, 0xff020202);
        img.setRGB(1, 1, 0xff030303);
        return EmojiDataset.encode(img);
    }

    private Path tarball() throws IOException {
        byte[] p = png();
        byte[] tgz = new TarBuilder().file("package/LICENSE", "MIT".getBytes(StandardCharsets.UTF_8))
                .file("package/emoji.json", EMOJI_JSON.getBytes(StandardCharsets.UTF_8))
                .file("package/img/twitter/64/1f600.png", p).file("package/img/twitter/64/1f385.png", p)
                .paxPath("package/img/twitter/64/1f385-1f3fd.png").file("x", p)
                .file("package/img/twitter/64/1f385-x.png", p)
                .file("package/img/twitter/sheets/64.png", new byte[10]).tgz();
        Path f = tmp.resolve("t.tgz");
        Files.write(f, tgz);
        return f;
    }

    @Test
    void captionsSkinTonesAndWords() throws IOException {
        List<EmojiCatalog.EmojiImage> c = EmojiCatalog.parse(EMOJI_JSON.getBytes(StandardCharsets.UTF_8), "e.json");
        assertEquals(4, c.size());
        assertEquals("grinning face, smileys and emotion, face smiling", c.get(0).caption());
        assertEquals("father christmas, medium skin tone, people and body, person fantasy", c.get(2).caption());
        assertEquals("light skin tone, dark skin tone", c.get(3).skinTone());
        assertEquals("medium skin tone", EmojiCatalog.skinTone("1F3FD-1F3FD", "k"));
        assertEquals(java.util.Set.of("twitter"), c.get(1).sets());
        IOException ex = assertThrows(IOException.class, () -> EmojiCatalog.skinTone("1F3FA", "e.json[1]"));
        assertEquals("e.json[1]: unknown skin tone code 1F3FA", ex.getMessage());
        ex = assertThrows(IOException.class, () -> EmojiCatalog.parse("[{\"name\":\"x\"}]".getBytes(StandardCharsets.UTF_8), "e.json"));
        assertEquals("e.json[0]: field 'category' must be a non-empty string", ex.getMessage());
    }

    @Test
    void heldOutSelectionIsDeterministicAndSized() {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            names.add("emoji " + i);
        }
        List<String> a = HeldOut.select(names, 0.1);
        List<String> reversed = new ArrayList<>(names);
        java.util.Collections.reverse(reversed);
        assertEquals(100, a.size());
        assertEquals(a, HeldOut.select(reversed, 0.1));
        String maxHeld = a.stream().map(HeldOut::sha256).max(String::compareTo).orElseThrow();
        long below = names.stream().filter(n -> HeldOut.sha256(n).compareTo(maxHeld) <= 0).count();
        assertEquals(100, below);
        // Known SHA-256 (FIPS 180-2 test vector) fixes the ordering key.
        assertEquals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", HeldOut.sha256("abc"));
    }

    @Test
    void compositingAndDownscaleArithmetic() {
        assertEquals(255, EmojiDataset.blend(255, 128));
        assertEquals(127, EmojiDataset.blend(0, 128));
        assertEquals(255, EmojiDataset.blend(17, 0));
        assertEquals(17, EmojiDataset.blend(17, 255));
    }

    @Test
    void buildsManifestsAndImagesFromTarball() throws IOException {
        Path t = tarball();
        Path held = tmp.resolve("heldout.txt");
        Files.writeString(held, "# comment\nfather christmas\n");
        Path out = tmp.resolve("emoji");
        List<String> log = new ArrayList<>();
        Map<String, Path> tarballs = new LinkedHashMap<>();
        tarballs.put("twitter", t);
        List<EmojiDataset.Summary> s = EmojiDataset.build(tarballs, held, out, false, log::add);
        assertEquals(List.of(new EmojiDataset.Summary("twitter", 1, 3, false)), s);

        List<JsonObject> rows = EmojiManifest.readManifest(out.resolve("twitter/manifest.jsonl"));
        assertEquals(4, rows.size());
        JsonObject r = rows.get(2);
        assertEquals("img64/1f385-1f3fd.png", r.get("image").getAsString());
        assertEquals("father christmas, medium skin tone, people and body, person fantasy", r.get("caption").getAsString());
        assertEquals("heldout", r.get("split").getAsString());
        assertEquals("train", rows.get(0).get("split").getAsString());
        assertEquals("People & Body", r.get("category").getAsString());
        assertFalse(rows.get(0).has("skin_tone"));
        assertEquals("img32/1f600.png",
                EmojiManifest.readManifest(out.resolve("twitter/manifest-32.jsonl")).get(0).get("image").getAsString());

        BufferedImage im = ImageIO.read(out.resolve("twitter/img64/1f600.png").toFile());
        assertEquals(64, im.getWidth());
        assertFalse(im.getColorModel().hasAlpha());
        assertEquals(0xff0000, im.getRGB(10, 10) & 0xffffff);
        assertEquals(0xff7f7f, im.getRGB(40, 10) & 0xffffff);
        BufferedImage small = ImageIO.read(out.resolve("twitter/img32/1f600.png").toFile());
        assertEquals(32, small.getWidth());
        assertEquals(0x020202, small.getRGB(0, 0) & 0xffffff); // (0+1+2+3+2)/4 = 2
        assertEquals(0xff7f7f, small.getRGB(20, 5) & 0xffffff);

        // Second run skips the finished style.
        s = EmojiDataset.build(tarballs, held, out, false, log::add);
        assertTrue(s.get(0).skipped());
    }

    @Test
    void errorsNameTheProblem() throws IOException {
        Path t = tarball();
        Path held = tmp.resolve("heldout.txt");
        Files.writeString(held, "no such emoji\n");
        IOException ex = assertThrows(IOException.class,
                () -> EmojiDataset.build(Map.of("twitter", t), held, tmp.resolve("o"), false, l -> { }));
        assertTrue(ex.getMessage().startsWith("held-out name 'no such emoji' is not in " + t), ex.getMessage());

        Files.writeString(held, "grinning face\n");
        ex = assertThrows(IOException.class,
                () -> EmojiDataset.build(Map.of("google", t), held, tmp.resolve("o"), false, l -> { }));
        assertTrue(ex.getMessage().contains("no package/img/google/64/*.png"), ex.getMessage());

        Path notGzip = tmp.resolve("x.tgz");
        Files.writeString(notGzip, "hello");
        ex = assertThrows(IOException.class,
                () -> EmojiDataset.build(Map.of("twitter", notGzip), held, tmp.resolve("o"), false, l -> { }));
        assertTrue(ex.getMessage().startsWith(notGzip + ": not a gzip file"), ex.getMessage());
    }
}
