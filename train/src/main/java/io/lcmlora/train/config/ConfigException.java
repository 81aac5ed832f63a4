package io.lcmlora.train.config;

/** A config value or key is wrong; {@link #key()} is the full dotted key (e.g. {@code lora.rank}). */
public final class ConfigException extends IllegalArgumentException {
    private final String key;
    private final String problem;

    public ConfigException(String key, String problem) {
        super(key + ": " + problem);
        this.key = key;
        this.problem = problem;
    }

    public String key() {
        return key;
    }

    public String problem() {
        return problem;
    }

    /** The same problem under {@code prefix.key}. */
    ConfigException under(String prefix) {
        return new ConfigException(prefix.isEmpty() ? key : prefix + "." + key, problem);
    }
}
