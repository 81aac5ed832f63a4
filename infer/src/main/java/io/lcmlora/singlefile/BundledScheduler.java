package io.lcmlora.singlefile;

import com.google.gson.JsonElement;
import com.google.gson.JsonParser;
import io.lcmlora.io.ConfigJson;
import io.lcmlora.schedule.SchedulerConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * SDXL base 1.0's {@code scheduler/scheduler_config.json}, bundled beside the SDXL tokenizers
 * ({@code io/lcmlora/text/sdxl/}) because a single-file checkpoint carries neither.
 */
public final class BundledScheduler {
    /** The classpath location of the bundled file. */
    public static final String RESOURCE = "/io/lcmlora/text/sdxl/scheduler/scheduler_config.json";

    private BundledScheduler() {}

    /** The bundled file as a config ({@code file()} names the classpath resource). */
    public static ConfigJson json() {
        try (InputStream in = BundledScheduler.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IOException("classpath" + RESOURCE + " is missing from the build");
            }
            try (Reader r = new InputStreamReader(in, StandardCharsets.UTF_8)) {
                JsonElement e = JsonParser.parseReader(r);
                return ConfigJson.of(Path.of("classpath:" + RESOURCE), e.getAsJsonObject());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The bundled SDXL scheduler config. */
    public static SchedulerConfig sdxl() {
        return SchedulerConfig.fromJson(json());
    }
}
