package io.lcmlora.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
        DomainClassifierConfig c = DomainClassifierConfig.emoji(List.of("Flags", "Food & Drink"), List.of("a-b", "c", "d"),
                List.of("twitter", "google"));
        Path f = tmp.resolve("config.json");
        Files.writeString(f, c.toJson());
        assertEquals(c, DomainClassifierConfig.read(f));
        assertEquals(List.of("twitter", "google"), DomainClassifierConfig.read(f).styles());
        assertEquals(128, c.featureDim());

        // a classifier written before the style head: no "styles" field, read as no style head, and written back without one
        DomainClassifierConfig old = DomainClassifierConfig.emoji(List.of("Flags", "Food & Drink"), List.of("a-b", "c"), List.of());
        assertFalse(old.toJson().contains("styles"));
        Files.writeString(f, old.toJson());
        assertFalse(DomainClassifierConfig.read(f).hasStyles());
        IllegalArgumentException one = assertThrows(IllegalArgumentException.class, () -> DomainClassifierConfig.emoji(
                List.of("a", "b"), List.of("c", "d"), List.of("twitter")));
        assertEquals("styles: none (no style head) or at least 2, got [twitter]", one.getMessage());
        Files.writeString(f, c.toJson());

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
