package io.lcmlora.train.demo;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The images listed by emoji-datasource's {@code emoji.json}: one {@link EmojiImage} per base emoji and one per
 * skin-tone variant ({@code skin_variations}), each with the image file name and the sets that have it
 * ({@code has_img_twitter}, {@code has_img_google}, ...).
 */
public final class EmojiCatalog {
    private EmojiCatalog() {}

    /** Fitzpatrick modifiers as named in Unicode CLDR. */
    private static final Map<String, String> SKIN_TONES = Map.of(
            "1F3FB", "light skin tone",
            "1F3FC", "medium-light skin tone",
            "1F3FD", "medium skin tone",
            "1F3FE", "medium-dark skin tone",
            "1F3FF", "dark skin tone");

    /**
     * One image of the catalog. {@code name} is the lower-cased base emoji name (shared by its variants),
     * {@code skinTone} the variant's tone words or null for the base image.
     */
    public record EmojiImage(String name, String unified, String image, List<String> shortNames, String category,
            String subcategory, String skinTone, Set<String> sets) {

        /** "grinning face, smileys and emotion, face smiling"; a variant adds its tone after the name. */
        public String caption() {
            StringBuilder b = new StringBuilder(words(name));
            if (skinTone != null) {
                b.append(", ").append(skinTone);
            }
            return b.append(", ").append(words(category)).append(", ").append(words(subcategory)).toString();
        }
    }

    /** Parses {@code emoji.json} bytes; {@code source} names the file in errors. */
    public static List<EmojiImage> parse(byte[] json, String source) throws IOException {
        JsonElement root;
        try {
            root = JsonParser.parseString(new String(json, StandardCharsets.UTF_8));
        } catch (RuntimeException ex) {
            throw new IOException(source + ": not valid JSON: " + ex.getMessage());
        }
        if (!root.isJsonArray()) {
            throw new IOException(source + ": expected a JSON array of emoji");
        }
        List<EmojiImage> out = new ArrayList<>();
        int i = 0;
        for (JsonElement el : root.getAsJsonArray()) {
            String where = source + "[" + i++ + "]";
            if (!el.isJsonObject()) {
                throw new IOException(where + ": expected an object");
            }
            JsonObject e = el.getAsJsonObject();
            String name = string(e, "name", where).toLowerCase(Locale.ROOT);
            String category = string(e, "category", where);
            String subcategory = string(e, "subcategory", where);
            List<String> shortNames = new ArrayList<>();
            JsonElement sn = e.get("short_names");
            if (sn != null && sn.isJsonArray()) {
                for (JsonElement s : sn.getAsJsonArray()) {
                    shortNames.add(s.getAsString());
                }
            }
            out.add(new EmojiImage(name, string(e, "unified", where), string(e, "image", where), List.copyOf(shortNames),
                    category, subcategory, null, sets(e)));
            JsonElement sv = e.get("skin_variations");
            if (sv != null && sv.isJsonObject()) {
                for (Map.Entry<String, JsonElement> v : sv.getAsJsonObject().entrySet()) {
                    String vWhere = where + ".skin_variations." + v.getKey();
                    if (!v.getValue().isJsonObject()) {
                        throw new IOException(vWhere + ": expected an object");
                    }
                    JsonObject vo = v.getValue().getAsJsonObject();
                    out.add(new EmojiImage(name, string(vo, "unified", vWhere), string(vo, "image", vWhere),
                            List.copyOf(shortNames), category, subcategory, skinTone(v.getKey(), vWhere), sets(vo)));
                }
            }
        }
        if (out.isEmpty()) {
            throw new IOException(source + ": no emoji");
        }
        return out;
    }

    /** Tone words of a {@code skin_variations} key: "1F3FD" or "1F3FB-1F3FF" (two people; equal tones once). */
    static String skinTone(String key, String where) throws IOException {
        Set<String> tones = new LinkedHashSet<>();
        for (String code : key.toUpperCase(Locale.ROOT).split("-")) {
            String t = SKIN_TONES.get(code);
            if (t == null) {
                throw new IOException(where + ": unknown skin tone code " + code);
            }
            tones.add(t);
        }
        return String.join(", ", tones);
    }

    /** Caption words of a name or category: lower case, "&" as "and", hyphens as spaces. */
    static String words(String s) {
        return s.toLowerCase(Locale.ROOT).replace("&", " and ").replace('-', ' ').trim().replaceAll("\\s+", " ");
    }

    private static Set<String> sets(JsonObject o) {
        Set<String> sets = new LinkedHashSet<>();
        for (Map.Entry<String, JsonElement> f : o.entrySet()) {
            if (f.getKey().startsWith("has_img_") && f.getValue().isJsonPrimitive()
                    && f.getValue().getAsJsonPrimitive().isBoolean() && f.getValue().getAsBoolean()) {
                sets.add(f.getKey().substring("has_img_".length()));
            }
        }
        return Set.copyOf(sets);
    }

    private static String string(JsonObject o, String field, String where) throws IOException {
        JsonElement v = o.get(field);
        if (v == null || !v.isJsonPrimitive() || !v.getAsJsonPrimitive().isString() || v.getAsString().isEmpty()) {
            throw new IOException(where + ": field '" + field + "' must be a non-empty string");
        }
        return v.getAsString();
    }

    /** A list of strings as a JSON array (for manifest lines). */
    static JsonArray toArray(List<String> values) {
        JsonArray a = new JsonArray();
        values.forEach(a::add);
        return a;
    }
}
