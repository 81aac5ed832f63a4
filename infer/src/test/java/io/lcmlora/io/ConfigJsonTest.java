package io.lcmlora.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

class ConfigJsonTest {
    @TempDir
    Path dir;

    private ConfigJson cfg(String json) throws IOException {
        Path p = dir.resolve("config.json");
        Files.writeString(p, json);
        return ConfigJson.read(p);
    }

    private void fails(ConfigJson c, String field, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(c.file().toString()) && e.getMessage().contains("'" + field + "'"), e.getMessage());
    }

    @Test
    void readsTypedValuesAndIgnoresUnknownFields() throws IOException {
        ConfigJson c = cfg("{\"_class_name\":\"X\",\"i\":3,\"d\":0.00085,\"b\":true,\"s\":\"scaled_linear\","
                + "\"l\":[1,2,3],\"one\":5,\"ss\":[\"a\",\"b\"],\"n\":null,\"e\":1e3,\"unknown\":{\"x\":[1]}}");
        assertEquals(3, c.getInt("i"));
        assertEquals(1000, c.getInt("e"), "1e3 is an integer value");
        assertEquals(0.00085, c.getDouble("d"));
        assertEquals(3.0, c.getDouble("i"));
        assertTrue(c.getBool("b", false));
        assertEquals("scaled_linear", c.getString("s"));
        assertArrayEquals(new int[] {1, 2, 3}, c.getInts("l", 3));
        assertArrayEquals(new int[] {5, 5, 5, 5}, c.getInts("one", 4));
        assertArrayEquals(new String[] {"a", "b"}, c.getStrings("ss"));
        assertFalse(c.has("n"), "null is treated as absent");
        assertEquals(7, c.getInt("n", 7));
        assertEquals(9, c.getInt("missing", 9));
        assertEquals("dflt", c.getString("missing", "dflt"));
    }

    @Test
    void missingOrWronglyTypedFieldsNameTheField() throws IOException {
        ConfigJson c = cfg("{\"str_int\":\"3\",\"frac\":1.5,\"big\":3000000000,\"list\":[3],\"str_d\":\"0.5\","
                + "\"b\":\"yes\",\"num_s\":4,\"l\":[1,\"2\"],\"lf\":[1,2.5],\"ln\":[1,2],\"ss\":[\"a\",1],\"obj\":{}}");
        fails(c, "absent", () -> c.getInt("absent"));
        fails(c, "absent", () -> c.getDouble("absent"));
        fails(c, "absent", () -> c.getString("absent"));
        fails(c, "str_int", () -> c.getInt("str_int"));
        fails(c, "frac", () -> c.getInt("frac"));
        fails(c, "big", () -> c.getInt("big"));
        fails(c, "list", () -> c.getInt("list"));
        fails(c, "list", () -> c.getDouble("list"));
        fails(c, "str_d", () -> c.getDouble("str_d"));
        fails(c, "obj", () -> c.getDouble("obj"));
        fails(c, "b", () -> c.getBool("b", false));
        fails(c, "num_s", () -> c.getString("num_s"));
        fails(c, "l", () -> c.getInts("l", 0));
        fails(c, "lf", () -> c.getInts("lf", 0));
        fails(c, "ln", () -> c.getInts("ln", 3));
        fails(c, "ss", () -> c.getStrings("ss"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> c.getInt("absent"));
        assertTrue(e.getMessage().contains("missing"), e.getMessage());
    }

    @Test
    void badFilesAreClearErrors() throws IOException {
        IOException e = assertThrows(IOException.class, () -> cfg("{\"a\":"));
        assertTrue(e.getMessage().contains("not valid JSON"), e.getMessage());
        e = assertThrows(IOException.class, () -> cfg("[1,2]"));
        assertTrue(e.getMessage().contains("JSON object"), e.getMessage());
        e = assertThrows(IOException.class, () -> ConfigJson.read(dir.resolve("nope.json")));
        assertTrue(e.getMessage().contains("not found"), e.getMessage());
        Path bin = dir.resolve("bin.json");
        Files.write(bin, new byte[] {'{', '"', (byte) 0xC3, '"', ':', '1', '}'});
        e = assertThrows(IOException.class, () -> ConfigJson.read(bin));
        assertTrue(e.getMessage().contains("UTF-8") && e.getMessage().contains(bin.toString()), e.getMessage());
    }
}
