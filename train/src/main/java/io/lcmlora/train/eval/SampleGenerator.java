package io.lcmlora.train.eval;

import io.lcmlora.train.config.EvalConfig;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * What a sweep samples with: one base model, switched between settings (scheduler, steps, guidance, adapters). Image
 * {@code k} of a call must depend only on (setting, prompt, {@code firstSeed + k}), never on which other images share
 * its batch, so that a resumed sweep regenerates exactly the missing images.
 */
public interface SampleGenerator extends AutoCloseable {
    /** One generated image and the settings that reproduce it (written to the PNG's {@code parameters} chunk; may be null). */
    record Sample(BufferedImage image, String parameters) {}

    /** {@code count} images of {@code prompt} with seeds {@code firstSeed, firstSeed+1, ...}, in seed order. */
    List<Sample> generate(SweepSetting setting, EvalPrompt prompt, String negativePrompt, long firstSeed, int count)
            throws IOException;

    /** One prompt's share of a batched call: {@code count} images with seeds {@code firstSeed, firstSeed+1, ...}. */
    record Request(EvalPrompt prompt, String negativePrompt, long firstSeed, int count) {}

    /**
     * The images of several prompts in one call, request by request and in seed order within each, equal to what
     * {@link #generate(SweepSetting, EvalPrompt, String, long, int)} gives for each request alone. This default
     * makes one call per request; a generator that can batch across prompts overrides it.
     */
    default List<Sample> generate(SweepSetting setting, List<Request> requests) throws IOException {
        List<Sample> out = new ArrayList<>();
        for (Request r : requests) {
            out.addAll(generate(setting, r.prompt(), r.negativePrompt(), r.firstSeed(), r.count()));
        }
        return out;
    }

    @Override
    void close();

    /** Opens a generator on one of the config's models (the sweep opens one model at a time). */
    @FunctionalInterface
    interface Factory {
        SampleGenerator open(EvalConfig.ModelSpec model, EvalConfig config) throws IOException;
    }
}
