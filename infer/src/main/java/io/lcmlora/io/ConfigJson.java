package io.lcmlora.io;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

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
        JsonElement e = require(field, "an integer");
        try {
            double d = e.getAsDouble();
            if (d != Math.rint(d)) {
                throw bad(field, "an integer");
            }
            return e.getAsInt();
        } catch (RuntimeException ex) {
            throw bad(field, "an integer");
        }
    }

    public int getInt(String field, int def) {
        return has(field) ? getInt(field) : def;
    }

    public double getDouble(String field) {
        JsonElement e = require(field, "a number");
        try {
            return e.getAsDouble();
        } catch (RuntimeException ex) {
            throw bad(field, "a number");
        }
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
                try {
                    out[i] = a.get(i).getAsInt();
                } catch (RuntimeException ex) {
                    throw bad(field, "a list of integers");
                }
            }
            if (n > 0 && out.length != n) {
                throw bad(field, n + " entries");
            }
            return out;
        }
        int v = getInt(field);
        int[] out = new int[Math.max(n, 1)];
        java.util.Arrays.fill(out, v);
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
            if (!a.get(i).isJsonPrimitive()) {
                throw bad(field, "a list of strings");
            }
            out[i] = a.get(i).getAsString();
        }
        return out;
    }
}
