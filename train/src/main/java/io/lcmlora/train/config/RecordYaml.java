package io.lcmlora.train.config;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The strict YAML binding of {@link TrainConfig} for any other config record (e.g. the demo's pretraining
 * configs), in the argument order the pretrain stages use; the binding itself is {@link YamlConfig}'s.
 */
public final class RecordYaml {
    private RecordYaml() {}

    /** Binds YAML text onto {@code type} with {@code key=value} overrides (see {@link YamlConfig#parse}). */
    public static <R extends Record> R parse(String yaml, Class<R> type, R defaults, List<String> overrides) {
        return YamlConfig.parse(type, defaults, yaml, overrides);
    }

    /** Reads and binds a config file with overrides; errors name the file. */
    public static <R extends Record> R load(Path file, Class<R> type, R defaults, List<String> overrides) throws IOException {
        return YamlConfig.load(type, defaults, file, overrides);
    }

    /** The record as block YAML; {@link #parse} of it gives back an equal record. */
    public static String toYaml(Record r) {
        return YamlConfig.toYaml(r);
    }
}
