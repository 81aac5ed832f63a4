package io.lcmlora.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import io.lcmlora.io.ConfigJson;
import io.lcmlora.model.clip.ClipTextConfig;
import io.lcmlora.model.unet.UNet2DConditionConfig;
import io.lcmlora.model.vae.AutoencoderKLConfig;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The config.json writers against the golden diffusers/transformers files and their own readers. */
class DiffusersConfigJsonTest {
    static final Path GOLDEN = Path.of(System.getProperty("golden.dir"));

    @Test
    void unetConfigRoundTripsAndMatchesGoldenFile() throws Exception {
        ConfigJson golden = ConfigJson.read(GOLDEN.resolve("unet/config.json"));
        JsonObject written = UNet2DConditionConfig.tiny().toJson();
        assertEquals(UNet2DConditionConfig.fromJson(golden), UNet2DConditionConfig.fromJson(ConfigJson.of(Path.of("w"), written)));
        assertEquals(UNet2DConditionConfig.sdxl(),
                UNet2DConditionConfig.fromJson(ConfigJson.of(Path.of("w"), UNet2DConditionConfig.sdxl().toJson())));
        for (String key : written.keySet()) {
            assertTrue(golden.has(key), "diffusers has no field '" + key + "'");
        }
    }

    @Test
    void vaeConfigRoundTripsAndMatchesGoldenFile() throws Exception {
        ConfigJson golden = ConfigJson.read(GOLDEN.resolve("vae/config.json"));
        JsonObject written = AutoencoderKLConfig.tiny().toJson();
        assertEquals(AutoencoderKLConfig.from(golden), AutoencoderKLConfig.from(ConfigJson.of(Path.of("w"), written)));
        for (String key : written.keySet()) {
            assertEquals(golden.json().get(key), written.get(key), key);
        }
        assertEquals(0.5, AutoencoderKLConfig.tiny().withScalingFactor(0.5).scalingFactor());
    }

    @Test
    void clipConfigsRoundTripAndMatchGoldenFiles() throws Exception {
        for (String name : new String[] {"text_encoder", "text_encoder_2"}) {
            ConfigJson golden = ConfigJson.read(GOLDEN.resolve("text_encoders").resolve(name).resolve("config.json"));
            ClipTextConfig c = ClipTextConfig.of(golden);
            JsonObject written = c.toJson(0, 1);
            assertEquals(c, ClipTextConfig.of(ConfigJson.of(Path.of("w"), written)));
            for (String key : golden.json().keySet()) {
                if (!key.equals("transformers_version")) {
                    assertEquals(golden.json().get(key), written.get(key), name + " " + key);
                }
            }
        }
    }
}
