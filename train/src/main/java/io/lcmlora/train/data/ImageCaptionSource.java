package io.lcmlora.train.data;

import io.lcmlora.train.config.DataConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A finite, indexed collection of image-caption examples. Indexing happens when the source is opened (entries that
 * cannot be examples are counted in {@link #skips()}); {@link #read} fetches one example's bytes, so the training
 * loop can visit them in any (seeded) order and a resumed run can continue where it stopped.
 */
public interface ImageCaptionSource extends AutoCloseable {
    int size();

    /** A name for example {@code index} in messages. */
    String id(int index);

    RawSample read(int index) throws IOException;

    /** Entries dropped while indexing; decoding failures are counted by {@link ImageDataset} into the same counter. */
    SkipCounter skips();

    @Override
    default void close() throws IOException {}

    /** Opens the configured source over all configured paths (relative paths against the working directory). */
    static ImageCaptionSource open(DataConfig data) throws IOException {
        if (data.paths().isEmpty()) {
            throw new IllegalArgumentException("data.paths: no input configured");
        }
        List<Path> paths = data.paths().stream().map(Path::of).toList();
        SkipCounter skips = new SkipCounter();
        return switch (data.source()) {
            case WEBDATASET -> new WebDatasetSource(paths, skips); // one source over the shards of every path
            case FOLDER -> {
                List<ImageCaptionSource> parts = new ArrayList<>();
                for (Path p : paths) {
                    parts.add(new FolderSource(p, skips));
                }
                yield concat(parts, skips);
            }
            case JSONL -> {
                List<ImageCaptionSource> parts = new ArrayList<>();
                for (Path p : paths) {
                    parts.add(new JsonlSource(p, skips));
                }
                yield concat(parts, skips);
            }
        };
    }

    private static ImageCaptionSource concat(List<ImageCaptionSource> parts, SkipCounter skips) {
        if (parts.size() == 1) {
            return parts.get(0);
        }
        List<int[]> index = new ArrayList<>();
        for (int p = 0; p < parts.size(); p++) {
            for (int i = 0; i < parts.get(p).size(); i++) {
                index.add(new int[] {p, i});
            }
        }
        return new ImageCaptionSource() {
            @Override
            public int size() {
                return index.size();
            }

            @Override
            public String id(int i) {
                return parts.get(index.get(i)[0]).id(index.get(i)[1]);
            }

            @Override
            public RawSample read(int i) throws IOException {
                return parts.get(index.get(i)[0]).read(index.get(i)[1]);
            }

            @Override
            public SkipCounter skips() {
                return skips;
            }
        };
    }
}
