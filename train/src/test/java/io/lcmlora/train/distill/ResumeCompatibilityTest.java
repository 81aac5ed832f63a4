package io.lcmlora.train.distill;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import io.lcmlora.train.config.ConfigException;
import io.lcmlora.train.config.TrainConfig;
import io.lcmlora.train.loop.Checkpoint;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Issue 12 item 14: keys that cannot change what is trained (data.num_workers) do not block a resume; others do. */
class ResumeCompatibilityTest {
    static final String SAVED = "data:\n  source: folder\n  paths: [imgs]\n  num_workers: 8\n";

    static Checkpoint checkpoint() {
        return new Checkpoint(Path.of("run/checkpoint-2"), 2, Map.of(), SAVED, new JsonObject());
    }

    @Test
    void numWorkersMayChangeOnResume() {
        TrainConfig now = TrainConfig.parse(SAVED, List.of("data.num_workers=0"));
        assertDoesNotThrow(() -> Distiller.checkCompatible(now, checkpoint(), 1));
    }

    @Test
    void resultDefiningDataKeysStillRefuse() {
        for (String change : List.of("data.resolution=512", "data.empty_captions=skip", "data.crop=center")) {
            TrainConfig now = TrainConfig.parse(SAVED, List.of(change, "data.num_workers=2"));
            ConfigException e = assertThrows(ConfigException.class, () -> Distiller.checkCompatible(now, checkpoint(), 1),
                    change);
            assertTrue(e.getMessage().contains("different [data]"), e.getMessage());
        }
    }
}
