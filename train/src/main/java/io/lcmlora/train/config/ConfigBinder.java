package io.lcmlora.train.config;

import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.StringJoiner;

/**
 * Strict binding of a parsed YAML tree (maps, lists, scalars only) onto config records. Record components are
 * YAML keys in snake_case ({@link Key} overrides); a missing key takes the default instance's value; an unknown
 * key, a wrong type or an out-of-range value is a {@link ConfigException} naming the full dotted key, with the
 * closest valid key suggested for typos. Records inside lists have no default instance: a missing key is an error
 * for a primitive component and {@code null} for any other, which the record's constructor defaults or rejects.
 */
final class ConfigBinder {
    private ConfigBinder() {}

    static <R extends Record> R bind(Class<R> type, Object tree, R defaults) {
        return bind(type, tree, defaults, "", type);
    }

    private static <R extends Record> R bind(Class<R> type, Object tree, R defaults, String path, Class<?> root) {
        if (!(tree instanceof Map<?, ?> map)) {
            throw new ConfigException(path.isEmpty() ? "<root>" : path,
                    "expected a mapping of keys " + keysOf(type) + ", got " + describe(tree));
        }
        RecordComponent[] comps = type.getRecordComponents();
        Map<String, RecordComponent> byKey = new LinkedHashMap<>();
        for (RecordComponent c : comps) {
            byKey.put(key(c), c);
        }
        for (Object k : map.keySet()) {
            if (!(k instanceof String s)) {
                throw new ConfigException(join(path, String.valueOf(k)), "keys must be strings");
            }
            if (!byKey.containsKey(s)) {
                throw unknownKey(type, path, s, root);
            }
        }
        Object[] args = new Object[comps.length];
        Class<?>[] types = new Class<?>[comps.length];
        for (int i = 0; i < comps.length; i++) {
            RecordComponent c = comps[i];
            types[i] = c.getType();
            String k = key(c);
            Object def = defaults == null ? null : get(c, defaults);
            String full = join(path, k);
            if (!map.containsKey(k)) {
                if (defaults == null && c.getType().isPrimitive()) {
                    throw new ConfigException(full, "is required");
                }
                args[i] = def;
            } else if (map.get(k) == null) {
                if (c.getType().isPrimitive() || !c.isAnnotationPresent(Nullable.class)) {
                    throw new ConfigException(full, "must not be null" + (def == null ? "" : " (default " + render(def) + ")"));
                }
                args[i] = null;
            } else {
                args[i] = convert(c.getGenericType(), map.get(k), def, full, root);
            }
        }
        try {
            Constructor<R> ctor = type.getDeclaredConstructor(types);
            return ctor.newInstance(args);
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof ConfigException ce) {
                throw ce.under(path);
            }
            throw new ConfigException(path.isEmpty() ? "<root>" : path, String.valueOf(e.getCause()));
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("config record " + type.getName() + " is not bindable", e);
        }
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static Object convert(Type generic, Object v, Object def, String key, Class<?> root) {
        Class<?> raw = generic instanceof ParameterizedType p ? (Class<?>) p.getRawType() : (Class<?>) generic;
        if (raw.isRecord()) {
            return bind((Class<Record>) raw, v, (Record) def, key, root);
        }
        if (raw == List.class) {
            Type elem = ((ParameterizedType) generic).getActualTypeArguments()[0];
            List<?> in = v instanceof List<?> l ? l : List.of(v);
            List<Object> out = new ArrayList<>(in.size());
            for (int i = 0; i < in.size(); i++) {
                if (in.get(i) == null) {
                    throw new ConfigException(key, "entry " + i + " is null");
                }
                out.add(convert(elem, in.get(i), null, key + "[" + i + "]", root));
            }
            return out;
        }
        if (raw == int.class || raw == Integer.class) {
            long l = integral(v, key);
            if (l < Integer.MIN_VALUE || l > Integer.MAX_VALUE) {
                throw new ConfigException(key, "expected a 32-bit integer, got " + l);
            }
            return (int) l;
        }
        if (raw == long.class || raw == Long.class) {
            return integral(v, key);
        }
        if (raw == double.class || raw == Double.class) {
            if (v instanceof Number n && !(v instanceof BigInteger)) {
                return n.doubleValue();
            }
            throw typeError(key, "a number", v);
        }
        if (raw == boolean.class || raw == Boolean.class) {
            if (v instanceof Boolean b) {
                return b;
            }
            throw typeError(key, "true or false", v);
        }
        if (raw == String.class) {
            if (v instanceof String s) {
                return s;
            }
            throw typeError(key, "a string", v);
        }
        if (raw.isEnum()) {
            if (v instanceof Boolean b) {
                // an enum key that also takes true/false declares it with a static fromBoolean(boolean)
                try {
                    return raw.getMethod("fromBoolean", boolean.class).invoke(null, b);
                } catch (NoSuchMethodException e) {
                    // no boolean form: the error below lists the names
                } catch (ReflectiveOperationException e) {
                    throw new IllegalStateException(raw + ".fromBoolean", e);
                }
            }
            if (v instanceof String s) {
                for (Object constant : raw.getEnumConstants()) {
                    if (((Enum) constant).name().equalsIgnoreCase(s.trim())) {
                        return constant;
                    }
                }
            }
            throw new ConfigException(key, "expected one of " + enumValues(raw) + ", got " + describe(v));
        }
        throw new IllegalStateException("unsupported config type " + generic + " at " + key);
    }

    private static long integral(Object v, String key) {
        if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte) {
            return ((Number) v).longValue();
        }
        if (v instanceof BigInteger b && b.bitLength() < 64) {
            return b.longValue();
        }
        throw typeError(key, "an integer", v);
    }

    private static ConfigException typeError(String key, String expected, Object v) {
        return new ConfigException(key, "expected " + expected + ", got " + describe(v));
    }

    static String describe(Object v) {
        if (v == null) {
            return "null";
        }
        String kind = v instanceof Map ? "mapping" : v instanceof List ? "list" : v instanceof String ? "string"
                : v instanceof Boolean ? "boolean" : v instanceof Number ? "number" : v.getClass().getSimpleName();
        String text = v instanceof String s ? "'" + s + "'" : String.valueOf(v);
        if (text.length() > 60) {
            text = text.substring(0, 57) + "...";
        }
        return kind + " " + text;
    }

    static String enumValues(Class<?> e) {
        StringJoiner j = new StringJoiner("|");
        for (Object c : e.getEnumConstants()) {
            j.add(((Enum<?>) c).name().toLowerCase(Locale.ROOT));
        }
        return j.toString();
    }

    /** A record as a YAML-ready tree: snake_case keys in declaration order, enums lower-case, lists copied. */
    static Map<String, Object> toTree(Record r) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (RecordComponent c : r.getClass().getRecordComponents()) {
            out.put(key(c), plain(get(c, r)));
        }
        return out;
    }

    private static Object plain(Object v) {
        if (v instanceof Record r) {
            return toTree(r);
        }
        if (v instanceof Enum<?> e) {
            return e.name().toLowerCase(Locale.ROOT);
        }
        if (v instanceof List<?> l) {
            List<Object> out = new ArrayList<>();
            for (Object o : l) {
                out.add(plain(o));
            }
            return out;
        }
        return v;
    }

    private static String render(Object v) {
        return String.valueOf(plain(v));
    }

    /** Every dotted key of a record type: sections and leaves. */
    static List<String> allKeys(Class<?> type, String prefix) {
        List<String> out = new ArrayList<>();
        for (RecordComponent c : type.getRecordComponents()) {
            String k = join(prefix, key(c));
            out.add(k);
            if (c.getType().isRecord()) {
                out.addAll(allKeys(c.getType(), k));
            }
        }
        return out;
    }

    /** The section record type at a dotted path ("" = the root), or null when the path is not a section. */
    static Class<?> sectionType(Class<?> root, String path) {
        Class<?> t = root;
        if (path.isEmpty()) {
            return t;
        }
        for (String part : path.split("\\.")) {
            Class<?> next = null;
            for (RecordComponent c : t.getRecordComponents()) {
                if (key(c).equals(part)) {
                    next = c.getType();
                }
            }
            if (next == null || !next.isRecord()) {
                return null;
            }
            t = next;
        }
        return t;
    }

    private static ConfigException unknownKey(Class<?> type, String path, String k, Class<?> root) {
        String full = join(path, k);
        List<String> here = keysOf(type);
        String best = closest(k, here);
        String elsewhere = best == null ? closestAnywhere(k, root) : null;
        String hint;
        if (best != null) {
            hint = "; did you mean '" + join(path, best) + "'?";
        } else if (elsewhere != null) {
            hint = "; did you mean '" + elsewhere + "'?";
        } else {
            hint = "; valid keys here: " + String.join(", ", here);
        }
        return new ConfigException(full, "unknown key" + hint);
    }

    /** A dotted key anywhere in the schema whose last segment is nearest to {@code k} (a key put in the wrong section). */
    private static String closestAnywhere(String k, Class<?> root) {
        Map<String, String> byLeaf = new LinkedHashMap<>();
        for (String full : allKeys(root, "")) {
            byLeaf.putIfAbsent(full.substring(full.lastIndexOf('.') + 1), full);
        }
        String leaf = closest(k, byLeaf.keySet());
        return leaf == null ? null : byLeaf.get(leaf);
    }

    /** The candidate nearest to {@code s} by edit distance, if it is near enough to be a typo. */
    static String closest(String s, Collection<String> candidates) {
        String best = null;
        int bestD = Integer.MAX_VALUE;
        for (String c : candidates) {
            int d = levenshtein(s.toLowerCase(Locale.ROOT), c.toLowerCase(Locale.ROOT));
            if (d < bestD) {
                bestD = d;
                best = c;
            }
        }
        return best != null && bestD <= Math.max(2, s.length() / 3) ? best : null;
    }

    static int levenshtein(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                cur[j] = Math.min(sub, Math.min(prev[j] + 1, cur[j - 1] + 1));
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    static List<String> keysOf(Class<?> type) {
        List<String> out = new ArrayList<>();
        for (RecordComponent c : type.getRecordComponents()) {
            out.add(key(c));
        }
        return out;
    }

    static String key(RecordComponent c) {
        Key k = c.getAnnotation(Key.class);
        return k != null ? k.value() : snake(c.getName());
    }

    static String snake(String camel) {
        StringBuilder sb = new StringBuilder();
        for (char ch : camel.toCharArray()) {
            if (Character.isUpperCase(ch)) {
                sb.append('_').append(Character.toLowerCase(ch));
            } else {
                sb.append(ch);
            }
        }
        return sb.toString();
    }

    private static Object get(RecordComponent c, Record r) {
        try {
            return c.getAccessor().invoke(r);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    static String join(String path, String k) {
        return path.isEmpty() ? k : path + "." + k;
    }
}
