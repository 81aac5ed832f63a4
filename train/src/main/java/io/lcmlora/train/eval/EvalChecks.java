package io.lcmlora.train.eval;

import java.util.regex.Pattern;

/** Value checks of the eval config records; each failure names the key. */
final class EvalChecks {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]+");

    private EvalChecks() {}

    static IllegalArgumentException error(String key, String problem) {
        return new IllegalArgumentException(key + ": " + problem);
    }

    static int range(String key, int v, int min, int max) {
        if (v < min || v > max) {
            throw error(key, "must be in [" + min + ", " + max + "], got " + v);
        }
        return v;
    }

    static String notBlank(String key, String v) {
        if (v == null || v.isBlank()) {
            throw error(key, "must be a non-empty string");
        }
        return v;
    }

    /** A name that is also a folder and file name: letters, digits, '.', '_', '-'. */
    static String name(String key, String v) {
        notBlank(key, v);
        if (!NAME.matcher(v).matches() || v.equals(".") || v.equals("..")) {
            throw error(key, "'" + v + "' must use only letters, digits, '.', '_' and '-' (it names folders and files)");
        }
        return v;
    }
}
