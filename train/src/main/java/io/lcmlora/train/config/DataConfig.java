package io.lcmlora.train.config;

import java.util.List;

/**
 * Training images and captions. Defaults: the LCM-LoRA SDXL README command (webdataset shards, 1024 px,
 * {@code --use_fix_crop_and_size}, bilinear resize, random crop, no flip, 8 loader workers).
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
        int numWorkers) {

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
    }

    public static DataConfig defaults() {
        return new DataConfig(Source.WEBDATASET, List.of(), 1024, Crop.RANDOM, false, true, Interpolation.BILINEAR,
                false, 8);
    }
}
