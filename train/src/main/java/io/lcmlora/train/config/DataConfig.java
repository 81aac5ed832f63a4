package io.lcmlora.train.config;

import java.util.List;

/**
 * Training images and captions. Defaults: the LCM-LoRA SDXL README command (webdataset shards, 1024 px,
 * {@code --use_fix_crop_and_size}, bilinear resize, random crop, no flip, 8 decoding workers, empty captions used).
 * {@code num_workers} threads decode and transform images while the latent cache is built (0: the calling thread
 * only); each example draws its crop/flip from its own seeded stream, so the cache is the same for every count.
 */
public record DataConfig(
        Source source,
        List<String> paths,
        int resolution,
        Crop crop,
        boolean randomFlip,
        boolean fixCropAndSize,
        Interpolation interpolation,
        boolean buckets,
        int numWorkers,
        EmptyCaptions emptyCaptions) {

    public enum Source {
        /** Images with same-name {@code .txt} captions in one folder (recursively). */
        FOLDER,
        /** JSON lines: {@code {"image": path, "caption": text, "original_width"?, "original_height"?}}. */
        JSONL,
        /** {@code .tar} shards (or folders of them): image + {@code .txt}/{@code .json} per key. */
        WEBDATASET
    }

    public enum Crop {
        CENTER,
        RANDOM
    }

    public enum Interpolation {
        BILINEAR,
        BICUBIC
    }

    /** What an empty or whitespace-only caption does; either way it is counted and reported. */
    public enum EmptyCaptions {
        /** Trained on as the empty prompt (what diffusers' scripts do with an empty caption). */
        USE,
        /** Skipped like an example without a caption. */
        SKIP
    }

    public DataConfig {
        if (source == null) {
            throw new ConfigException("source", "must be one of " + ConfigBinder.enumValues(Source.class));
        }
        paths = Check.strings("paths", paths, true);
        Check.range("resolution", resolution, 8, 8192);
        Check.multipleOf("resolution", resolution, 8);
        if (crop == null) {
            throw new ConfigException("crop", "must be one of " + ConfigBinder.enumValues(Crop.class));
        }
        if (interpolation == null) {
            throw new ConfigException("interpolation", "must be one of " + ConfigBinder.enumValues(Interpolation.class));
        }
        Check.range("num_workers", numWorkers, 0, 256);
        if (emptyCaptions == null) {
            throw new ConfigException("empty_captions", "must be one of " + ConfigBinder.enumValues(EmptyCaptions.class));
        }
    }

    /**
     * This config with the keys that cannot change what is trained on set to their defaults: {@code num_workers}
     * (decoding threads; results are identical for every count). Resume compatibility compares these.
     */
    public DataConfig resultDefining() {
        return new DataConfig(source, paths, resolution, crop, randomFlip, fixCropAndSize, interpolation, buckets,
                defaults().numWorkers(), emptyCaptions);
    }

    public static DataConfig defaults() {
        return new DataConfig(Source.WEBDATASET, List.of(), 1024, Crop.RANDOM, false, true, Interpolation.BILINEAR,
                false, 8, EmptyCaptions.USE);
    }
}
