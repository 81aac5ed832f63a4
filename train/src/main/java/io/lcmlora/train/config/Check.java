package io.lcmlora.train.config;

import java.util.List;
import java.util.regex.Pattern;

/** Range checks for config records' compact constructors; each failure names the (local) key and the valid range. */
public final class Check {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]+");

    private Check() {}

    /** A name that is also used as a folder and file name: letters, digits, '.', '_', '-'. */
    public static String name(String key, String v) {
        notBlank(key, v);
        if (!NAME.matcher(v).matches() || v.equals(".") || v.equals("..")) {
            throw new ConfigException(key, "'" + v + "' must use only letters, digits, '.', '_' and '-' (it names "
                    + "folders and files)");
        }
        return v;
    }

    public static int range(String key, int v, int min, int max) {
        if (v < min || v > max) {
            throw new ConfigException(key, "must be in [" + min + ", " + max + "], got " + v);
        }
        return v;
    }

    public static long range(String key, long v, long min, long max) {
        if (v < min || v > max) {
            throw new ConfigException(key, "must be in [" + min + ", " + max + "], got " + v);
        }
        return v;
    }

    /** min <= v <= max (both closed). */
    public static double closed(String key, double v, double min, double max) {
        if (!(v >= min && v <= max)) {
            throw new ConfigException(key, "must be in [" + min + ", " + max + "], got " + v);
        }
        return v;
    }

    /** min <= v < max. */
    public static double closedOpen(String key, double v, double min, double max) {
        if (!(v >= min && v < max)) {
            throw new ConfigException(key, "must be in [" + min + ", " + max + "), got " + v);
        }
        return v;
    }

    /** min < v <= max. */
    public static double openClosed(String key, double v, double min, double max) {
        if (!(v > min && v <= max)) {
            throw new ConfigException(key, "must be in (" + min + ", " + max + "], got " + v);
        }
        return v;
    }

    public static int multipleOf(String key, int v, int m) {
        if (v % m != 0) {
            throw new ConfigException(key, "must be a multiple of " + m + ", got " + v);
        }
        return v;
    }

    public static String notBlank(String key, String v) {
        if (v == null || v.isBlank()) {
            throw new ConfigException(key, "must be a non-empty string");
        }
        return v;
    }

    public static List<String> strings(String key, List<String> v, boolean allowEmpty) {
        if (v == null) {
            throw new ConfigException(key, "must be a list");
        }
        if (!allowEmpty && v.isEmpty()) {
            throw new ConfigException(key, "must list at least one entry");
        }
        for (int i = 0; i < v.size(); i++) {
            if (v.get(i) == null || v.get(i).isBlank()) {
                throw new ConfigException(key, "entry " + i + " is empty");
            }
        }
        return List.copyOf(v);
    }
}
