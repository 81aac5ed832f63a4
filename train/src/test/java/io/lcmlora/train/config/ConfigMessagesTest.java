package io.lcmlora.train.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Config errors name the file or the key and what was expected (issue 12, items 15 and 17). */
class ConfigMessagesTest {
    @TempDir
    Path tmp;

    private String loadFails(Path file, String... sets) {
        return assertThrows(IllegalArgumentException.class, () -> TrainConfig.load(file, List.of(sets))).getMessage();
    }

    @Test
    void unreadableFilesNameTheFileAndTheFix() throws Exception {
        Path utf16 = Files.write(tmp.resolve("u16.yaml"), "seed: 1\n".getBytes(StandardCharsets.UTF_16));
        assertEquals(utf16 + ": is UTF-16 text; expected UTF-8: save the config as UTF-8", loadFails(utf16));
        Path bin = Files.write(tmp.resolve("bin.yaml"), new byte[] {'s', 'e', 'e', 'd', 0, 1, 2});
        assertTrue(loadFails(bin).startsWith(bin + ": holds a NUL byte at offset 4"), loadFails(bin));
        Path latin1 = Files.write(tmp.resolve("l1.yaml"), "output_dir: caf\u00e9\n".getBytes(StandardCharsets.ISO_8859_1));
        assertEquals(latin1 + ": is not valid UTF-8 text (bad byte near offset 15); expected a UTF-8 YAML config: save it "
                + "as UTF-8", loadFails(latin1));
        assertEquals("config file " + tmp + ": is a folder; expected a YAML file (e.g. configs/sdxl-lcm-lora.yaml)",
                loadFails(tmp));
        Path missing = tmp.resolve("nope.yaml");
        assertEquals("config file " + missing + ": no such file; expected a YAML config file", loadFails(missing));
        Path bom = Files.write(tmp.resolve("bom.yaml"), "\uFEFFseed: 7\n".getBytes(StandardCharsets.UTF_8));
        assertEquals(7, TrainConfig.load(bom, List.of()).seed());
    }

    @Test
    void yamlSyntaxErrorsNameTheFileAndLine() throws Exception {
        Path bad = Files.writeString(tmp.resolve("bad.yaml"), "seed: 1\nlora:\n  rank: [1, 2\n");
        String m = loadFails(bad);
        assertTrue(m.startsWith(bad + ":"), m);
        assertTrue(m.contains("invalid YAML") && !m.contains("'string'") && !m.contains("<config>"), m);
        String set = assertThrows(IllegalArgumentException.class,
                () -> TrainConfig.load(null, List.of("lora.rank=[1"))).getMessage();
        assertTrue(set.startsWith("--set lora.rank"), set);
    }

    @Test
    void anUnknownKeyFromSetIsBlamedOnTheSetNotTheFile() throws Exception {
        Path good = Files.writeString(tmp.resolve("good.yaml"), "seed: 1\n");
        ConfigException e = assertThrows(ConfigException.class, () -> TrainConfig.load(good, List.of("nosuch.key=1")));
        assertEquals("nosuch", e.key());
        assertTrue(e.getMessage().contains("(from --set nosuch.key=1)") && !e.getMessage().contains(good.toString()),
                e.getMessage());
        ConfigException r = assertThrows(ConfigException.class, () -> TrainConfig.load(good, List.of("lora.rank=0")));
        assertTrue(r.getMessage().startsWith("lora.rank: ") && r.getMessage().endsWith("(from --set lora.rank=0)"),
                r.getMessage());
        Path typo = Files.writeString(tmp.resolve("typo.yaml"), "lora:\n  rnak: 4\n");
        ConfigException t = assertThrows(ConfigException.class, () -> TrainConfig.load(typo, List.of("seed=3")));
        assertTrue(t.getMessage().contains("lora.rank") && t.getMessage().endsWith("(in " + typo + ")"), t.getMessage());
        assertFalse(t.getMessage().contains("--set"), t.getMessage());
    }

    @Test
    void loraDropoutOtherThanZeroIsRefusedWithTheConfig() {
        ConfigException e = assertThrows(ConfigException.class, () -> TrainConfig.parse("lora: {dropout: 0.1}"));
        assertEquals("lora.dropout", e.key());
        assertTrue(e.problem().contains("not implemented") && e.problem().contains("0.1"), e.problem());
        assertEquals(0.0, TrainConfig.parse("lora: {dropout: 0}").lora().dropout());
    }
}
