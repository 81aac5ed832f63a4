package io.lcmlora.train.eval;

import io.lcmlora.engine.DeviceSpec;
import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import io.lcmlora.pipeline.GeneratedImage;
import io.lcmlora.pipeline.GenerationRequest;
import io.lcmlora.pipeline.LoadOptions;
import io.lcmlora.pipeline.LoraSpec;
import io.lcmlora.pipeline.ModelSource;
import io.lcmlora.pipeline.SdxlModel;
import io.lcmlora.pipeline.SdxlPipeline;
import io.lcmlora.train.config.EvalConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The sweep's generator on the SDXL pipeline: one model loaded once, every adapter the config names loaded unfused
 * (so each setting switches its own set on, at its weights, without reloading: {@link SdxlPipeline#setAdapters}),
 * text-to-image requests of consecutive seeds ({@link GenerationRequest}: image k from seed + k, noise drawn per
 * image, so batching does not change pixels); several prompts of one setting go through one batched call.
 */
public final class PipelineGenerator implements SampleGenerator {
    private final SdxlModel model;
    private final SdxlPipeline pipeline;
    /** Config adapter name -> the pipeline's adapter name. */
    private final Map<String, String> adapterNames = new LinkedHashMap<>();
    private final EvalConfig config;

    private PipelineGenerator(SdxlModel model, EvalConfig config) {
        this.model = model;
        this.pipeline = new SdxlPipeline(model);
        this.config = config;
    }

    /** Loads {@code spec}'s model on the config's device and precision, with every adapter of the config. */
    public static SampleGenerator open(EvalConfig.ModelSpec spec, EvalConfig config) throws IOException {
        SdxlModel model = ModelSource.open(Path.of(spec.path()), loadOptions(config));
        PipelineGenerator g = new PipelineGenerator(model, config);
        try {
            for (EvalConfig.AdapterSpec a : config.adapters()) {
                g.adapterNames.put(a.name(), g.pipeline.loadLora(new LoraSpec(Path.of(a.file()), a.weight())));
            }
            return g;
        } catch (IOException | RuntimeException e) {
            g.close();
            throw e;
        }
    }

    static LoadOptions loadOptions(EvalConfig config) {
        return LoadOptions.on(DeviceSpec.parse(config.device()).resolve(), config.precision().dataType());
    }

    @Override
    public List<Sample> generate(SweepSetting s, EvalPrompt prompt, String negativePrompt, long firstSeed, int count) {
        return generate(s, List.of(new Request(prompt, negativePrompt, firstSeed, count)));
    }

    /** All requests as one batched denoising loop ({@link SdxlPipeline#generate(List)}). */
    @Override
    public List<Sample> generate(SweepSetting s, List<Request> requests) {
        Map<String, Double> weights = new LinkedHashMap<>();
        for (EvalConfig.AdapterSpec a : s.adapters()) {
            weights.put(adapterNames.get(a.name()), a.weight());
        }
        pipeline.setAdapters(weights);
        List<GenerationRequest> batch = new ArrayList<>();
        for (Request q : requests) {
            batch.add(GenerationRequest.of(q.prompt().prompt()).withNegativePrompt(q.negativePrompt())
                    .withSeed(q.firstSeed()).withSampler(s.sampler()).withGuidance(s.guidance())
                    .withSize(config.width(), config.height()).withImagesPerPrompt(q.count()));
        }
        List<Sample> out = new ArrayList<>();
        for (GeneratedImage img : pipeline.generate(batch)) {
            out.add(new Sample(img.image(), img.parameters()));
        }
        return out;
    }

    @Override
    public void close() {
        pipeline.close();
        model.close();
    }
}
