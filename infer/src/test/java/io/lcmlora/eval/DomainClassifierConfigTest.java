package io.lcmlora.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DomainClassifierConfigTest {
    @TempDir
    Path tmp;

    @Test
    void jsonRoundTripAndValidation() throws IOException {
        DomainClassifierConfig c = DomainClassifierConfig.emoji(List.of("Flags", "Food & Drink"), List.of("a-b", "c", "d"));
        Path f = tmp.resolve("config.json");
        Files.writeString(f, c.toJson());
        assertEquals(c, DomainClassifierConfig.read(f));
        assertEquals(128, c.featureDim());

        Files.writeString(f, c.toJson().replace("\"domain-classifier\"", "\"inception\""));
        IOException ex = assertThrows(IOException.class, () -> DomainClassifierConfig.read(f));
        assertEquals(f + ": field 'type' must be \"domain-classifier\", got \"inception\"", ex.getMessage());

        Files.writeString(f, c.toJson().replace("\"resolution\": 32", "\"resolution\": 24"));
        ex = assertThrows(IOException.class, () -> DomainClassifierConfig.read(f));
        assertEquals(f + ": resolution 24 must be a multiple of 2^4 (one halving per stage)", ex.getMessage());

        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
                () -> new DomainClassifierConfig(32, List.of(12), 8, List.of("a", "b"), List.of("c", "d")));
        assertEquals("channels: 12 must be positive and divisible by norm_num_groups 8", bad.getMessage());
    }
}
