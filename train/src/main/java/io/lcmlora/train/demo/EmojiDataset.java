package io.lcmlora.train.demo;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import io.lcmlora.io.AtomicFiles;
import io.lcmlora.train.data.TarReader;
import io.lcmlora.train.demo.EmojiCatalog.EmojiImage;
import java.awt.image.BufferedImage;
import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;
import javax.imageio.ImageIO;

/**
 * Builds the demo's image-caption sets from emoji-datasource npm tarballs, read directly (gzip + tar, nothing
 * extracted): per style, {@code <out>/<style>/img64/<image>} (RGB 64x64, alpha composited on white),
 * {@code img32/<image>} (2x2 box-average of the 64 px image) and {@code manifest.jsonl} / {@code manifest-32.jsonl}
 * (one JSON object per image, paths relative to the manifest). The manifest is written last and atomically,
 * so its presence means the style is complete.
 */
public final class EmojiDataset {
    private EmojiDataset() {}

    public static final int SIZE = 64;
    private static final int MAX_JSON = 64 << 20;
    private static final int MAX_PNG = 1 << 20;
    private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().create();

    /** What one style's build wrote. */
    public record Summary(String style, int train, int heldout, boolean skipped) {}

    /** The files of one package tarball that the builder needs. */
    record Package(byte[] emojiJson, Map<String, byte[]> images) {}

    /** Builds every style whose manifest is missing (all of them when {@code force}). */
    public static List<Summary> build(Map<String, Path> tarballs, Path heldoutFile, Path out, boolean force,
            Consumer<String> log) throws IOException {
        Set<String> heldout = HeldOut.read(heldoutFile);
        List<Summary> done = new ArrayList<>();
        for (Map.Entry<String, Path> t : tarballs.entrySet()) {
            String style = t.getKey();
            Path dir = out.resolve(style);
            if (!force && Files.isRegularFile(dir.resolve("manifest.jsonl"))) {
                log.accept(style + ": " + dir.resolve("manifest.jsonl") + " exists, skipping");
                done.add(new Summary(style, 0, 0, true));
                continue;
            }
            long t0 = System.nanoTime();
            Package pkg = readPackage(t.getValue(), style);
            List<EmojiImage> catalog = EmojiCatalog.parse(pkg.emojiJson(), t.getValue() + "!package/emoji.json");
            Summary s = writeStyle(style, catalog, pkg.images(), heldout, dir, t.getValue().toString());
            log.accept(String.format("%s: %d train + %d held-out images in %s (%.1f s)", style, s.train(), s.heldout(),
                    dir, (System.nanoTime() - t0) / 1e9));
            done.add(s);
        }
        return done;
    }

    /** The distinct lower-cased emoji names of a tarball's {@code emoji.json} (for {@code lcm data heldout}). */
    public static Set<String> names(Path tarball) throws IOException {
        Package pkg = readPackage(tarball, null);
        Set<String> names = new TreeSet<>();
        for (EmojiImage e : EmojiCatalog.parse(pkg.emojiJson(), tarball + "!package/emoji.json")) {
            names.add(e.name());
        }
        return names;
    }

    /** Reads {@code package/emoji.json} and, when {@code style} is not null, {@code package/img/<style>/64/*.png}. */
    static Package readPackage(Path tgz, String style) throws IOException {
        String prefix = style == null ? null : "package/img/" + style + "/" + SIZE + "/";
        byte[] json = null;
        Map<String, byte[]> images = new HashMap<>();
        try (InputStream raw = new BufferedInputStream(Files.newInputStream(tgz), 1 << 16);
                TarReader tar = new TarReader(new GZIPInputStream(raw, 1 << 16), tgz.toString(), -1)) {
            for (TarReader.Entry e = tar.next(); e != null; e = tar.next()) {
                if (!e.isFile()) {
                    continue;
                }
                if (e.name().equals("package/emoji.json")) {
                    json = tar.read(e, MAX_JSON);
                } else if (prefix != null && e.name().startsWith(prefix) && e.name().endsWith(".png")) {
                    String file = e.name().substring(prefix.length());
                    if (!file.equals(TarReader.safeName(file)) || file.contains("/")) {
                        throw new IOException(tgz + ": unexpected image path " + e.name());
                    }
                    images.put(file, tar.read(e, MAX_PNG));
                }
            }
        } catch (ZipException ex) {
            throw new IOException(tgz + ": not a gzip file: " + ex.getMessage());
        }
        if (json == null) {
            throw new IOException(tgz + ": no package/emoji.json (is this an emoji-datasource tarball?)");
        }
        if (prefix != null && images.isEmpty()) {
            throw new IOException(tgz + ": no " + prefix + "*.png (is this the emoji-datasource-" + style + " tarball?)");
        }
        return new Package(json, images);
    }

    static Summary writeStyle(String style, List<EmojiImage> catalog, Map<String, byte[]> pngs, Set<String> heldout,
            Path dir, String source) throws IOException {
        Set<String> names = new TreeSet<>();
        catalog.forEach(e -> names.add(e.name()));
        for (String h : heldout) {
            if (!names.contains(h)) {
                throw new IOException("held-out name '" + h + "' is not in " + source
                        + "!package/emoji.json (held-out list for another emoji-datasource version?)");
            }
        }
        Path img64 = dir.resolve("img64");
        Path img32 = dir.resolve("img32");
        Files.createDirectories(img64);
        Files.createDirectories(img32);
        StringBuilder m64 = new StringBuilder();
        StringBuilder m32 = new StringBuilder();
        int train = 0;
        int held = 0;
        for (EmojiImage e : catalog) {
            if (!e.sets().contains(style)) {
                continue;
            }
            byte[] png = pngs.get(e.image());
            if (png == null) {
                throw new IOException(source + ": emoji.json lists " + e.image() + " for '" + e.name()
                        + "' with has_img_" + style + " but the tarball has no package/img/" + style + "/64/" + e.image());
            }
            BufferedImage rgb = onWhite(decode(png, source + "!" + e.image()), source + "!" + e.image());
            Files.write(img64.resolve(e.image()), encode(rgb));
            Files.write(img32.resolve(e.image()), encode(halve(rgb)));
            boolean isHeld = heldout.contains(e.name());
            if (isHeld) {
                held++;
            } else {
                train++;
            }
            m64.append(line(e, "img64/" + e.image(), isHeld)).append('\n');
            m32.append(line(e, "img32/" + e.image(), isHeld)).append('\n');
        }
        AtomicFiles.writeString(dir.resolve("manifest-32.jsonl"), m32.toString());
        AtomicFiles.writeString(dir.resolve("manifest.jsonl"), m64.toString());
        return new Summary(style, train, held, false);
    }

    static String line(EmojiImage e, String image, boolean heldout) {
        JsonObject o = new JsonObject();
        o.addProperty("image", image);
        o.addProperty("caption", e.caption());
        o.addProperty("name", e.name());
        o.add("short_names", EmojiCatalog.toArray(e.shortNames()));
        o.addProperty("category", e.category());
        o.addProperty("subcategory", e.subcategory());
        if (e.skinTone() != null) {
            o.addProperty("skin_tone", e.skinTone());
        }
        o.addProperty("unified", e.unified());
        o.addProperty("split", heldout ? "heldout" : "train");
        return GSON.toJson(o);
    }

    static BufferedImage decode(byte[] png, String where) throws IOException {
        BufferedImage img = ImageIO.read(new ByteArrayInputStream(png));
        if (img == null) {
            throw new IOException(where + ": not a readable PNG");
        }
        return img;
    }

    /** Straight-alpha source composited on white: {@code round(c*a/255 + 255*(1-a/255))}, as RGB {@code SIZE}x{@code SIZE}. */
    static BufferedImage onWhite(BufferedImage src, String where) throws IOException {
        if (src.getWidth() != SIZE || src.getHeight() != SIZE) {
            throw new IOException(where + ": " + src.getWidth() + "x" + src.getHeight() + ", expected " + SIZE + "x" + SIZE);
        }
        BufferedImage out = new BufferedImage(SIZE, SIZE, BufferedImage.TYPE_INT_RGB);
        int[] argb = src.getRGB(0, 0, SIZE, SIZE, null, 0, SIZE);
        for (int i = 0; i < argb.length; i++) {
            int p = argb[i];
            int a = p >>> 24;
            int r = blend((p >>> 16) & 0xff, a);
            int g = blend((p >>> 8) & 0xff, a);
            int b = blend(p & 0xff, a);
            argb[i] = (r << 16) | (g << 8) | b;
        }
        out.setRGB(0, 0, SIZE, SIZE, argb, 0, SIZE);
        return out;
    }

    static int blend(int c, int a) {
        return (c * a + 255 * (255 - a) + 127) / 255;
    }

    /** 2x2 box average (rounded half up) of an RGB image. */
    static BufferedImage halve(BufferedImage src) {
        int w = src.getWidth() / 2;
        int h = src.getHeight() / 2;
        int[] in = src.getRGB(0, 0, src.getWidth(), src.getHeight(), null, 0, src.getWidth());
        int[] out = new int[w * h];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int v = 0;
                for (int shift = 16; shift >= 0; shift -= 8) {
                    int s = 0;
                    for (int dy = 0; dy < 2; dy++) {
                        for (int dx = 0; dx < 2; dx++) {
                            s += (in[(2 * y + dy) * src.getWidth() + 2 * x + dx] >>> shift) & 0xff;
                        }
                    }
                    v |= ((s + 2) / 4) << shift;
                }
                out[y * w + x] = v;
            }
        }
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        img.setRGB(0, 0, w, h, out, 0, w);
        return img;
    }

    static byte[] encode(BufferedImage img) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream(8192);
        if (!ImageIO.write(img, "png", bos)) {
            throw new IOException("no PNG writer");
        }
        return bos.toByteArray();
    }
}
