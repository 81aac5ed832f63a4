package io.lcmlora.io;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A {@code config.json} read into typed values. Fields the caller does not ask for are ignored (as diffusers
 * does); a required field that is missing or of the wrong type is an error naming the file and the field.
 */
public final class ConfigJson {
    /** Largest config file accepted (real ones are a few KB). */
    private static final long MAX_BYTES = 4L * 1024 * 1024;
    private final Path file;
    private final JsonObject obj;

    private ConfigJson(Path file, JsonObject obj) {
        this.file = file;
        this.obj = obj;
    }

    public static ConfigJson read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException(file + ": config file not found");
        }
        if (Files.size(file) > MAX_BYTES) {
            throw new IOException(file + ": config is larger than " + MAX_BYTES + " bytes");
        }
        JsonElement e;
        try {
            e = JsonParser.parseString(Files.readString(file));
        } catch (CharacterCodingException ex) {
            throw new IOException(file + ": config is not valid UTF-8");
        } catch (RuntimeException ex) {
            throw new IOException(file + ": not valid JSON: " + ex.getMessage());
        }
        if (!e.isJsonObject()) {
            throw new IOException(file + ": expected a JSON object");
        }
        return new ConfigJson(file, e.getAsJsonObject());
    }

    public static ConfigJson of(Path file, JsonObject obj) {
        return new ConfigJson(file, obj);
    }

    public Path file() {
        return file;
    }

    public JsonObject json() {
        return obj;
    }

    public boolean has(String field) {
        return obj.has(field) && !obj.get(field).isJsonNull();
    }

    private IllegalArgumentException bad(String field, String expected) {
        return new IllegalArgumentException(file + ": field '" + field + "' " + (has(field)
                ? "is " + obj.get(field) + ", expected " + expected : "is missing (expected " + expected + ")"));
    }

    private JsonElement require(String field, String expected) {
        if (!has(field)) {
            throw bad(field, expected);
        }
        return obj.get(field);
    }

    public int getInt(String field) {
        return toInt(field, require(field, "an integer"), "an integer");
    }

    /** A JSON number (never a string, a list or a fraction) that fits an int; Gson alone would coerce all three. */
    private int toInt(String field, JsonElement e, String expected) {
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber()) {
            throw bad(field, expected);
        }
        try {
            return new BigDecimal(e.getAsString()).intValueExact();
        } catch (ArithmeticException | NumberFormatException ex) {
            throw bad(field, expected);
        }
    }

    public int getInt(String field, int def) {
        return has(field) ? getInt(field) : def;
    }

    public double getDouble(String field) {
        JsonElement e = require(field, "a number");
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber()) {
            throw bad(field, "a number");
        }
        return e.getAsDouble();
    }

    public double getDouble(String field, double def) {
        return has(field) ? getDouble(field) : def;
    }

    public boolean getBool(String field, boolean def) {
        if (!has(field)) {
            return def;
        }
        JsonElement e = obj.get(field);
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isBoolean()) {
            throw bad(field, "true or false");
        }
        return e.getAsBoolean();
    }

    public String getString(String field) {
        JsonElement e = require(field, "a string");
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) {
            throw bad(field, "a string");
        }
        return e.getAsString();
    }

    public String getString(String field, String def) {
        return has(field) ? getString(field) : def;
    }

    /** An int list; a single integer is broadcast to {@code n} entries when n > 0 (diffusers' convention). */
    public int[] getInts(String field, int n) {
        JsonElement e = require(field, "an integer or a list of integers");
        if (e.isJsonArray()) {
            JsonArray a = e.getAsJsonArray();
            int[] out = new int[a.size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = toInt(field, a.get(i), "a list of integers");
            }
            if (n > 0 && out.length != n) {
                throw bad(field, n + " entries");
            }
            return out;
        }
        int v = getInt(field);
        int[] out = new int[Math.max(n, 1)];
        Arrays.fill(out, v);
        return out;
    }

    public String[] getStrings(String field) {
        JsonElement e = require(field, "a list of strings");
        if (!e.isJsonArray()) {
            throw bad(field, "a list of strings");
        }
        JsonArray a = e.getAsJsonArray();
        String[] out = new String[a.size()];
        for (int i = 0; i < out.length; i++) {
            if (!a.get(i).isJsonPrimitive() || !a.get(i).getAsJsonPrimitive().isString()) {
                throw bad(field, "a list of strings");
            }
            out[i] = a.get(i).getAsString();
        }
        return out;
    }
}
