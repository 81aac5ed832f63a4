package io.lcmlora.train.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;

/**
 * A folder (searched recursively, in sorted path order) of images with same-name {@code .txt} captions:
 * {@code a/cat.png} + {@code a/cat.txt}. Images without a caption file are skipped and counted.
 */
public final class FolderSource implements ImageCaptionSource {
    static final Set<String> IMAGE_EXTENSIONS = Set.of("png", "jpg", "jpeg", "bmp", "gif", "webp");

    private final Path root;
    private final List<Path> images = new ArrayList<>();
    private final SkipCounter skips;

    public FolderSource(Path root, SkipCounter skips) throws IOException {
        if (!Files.isDirectory(root)) {
            throw new NoSuchFileException(root + " (data.paths: not a folder of images)");
        }
        this.root = root;
        this.skips = skips;
        List<Path> all;
        try (Stream<Path> s = Files.walk(root)) {
            all = s.filter(Files::isRegularFile).sorted().toList();
        }
        for (Path p : all) {
            if (IMAGE_EXTENSIONS.contains(extension(p))) {
                if (Files.isRegularFile(captionOf(p))) {
                    images.add(p);
                } else {
                    skips.skip("no caption", root.relativize(p).toString());
                }
            }
        }
    }

    static String extension(Path p) {
        String n = p.getFileName().toString();
        int dot = n.lastIndexOf('.');
        return dot < 0 ? "" : n.substring(dot + 1).toLowerCase(Locale.ROOT);
    }

    static Path captionOf(Path image) {
        String n = image.getFileName().toString();
        return image.resolveSibling(n.substring(0, n.lastIndexOf('.')) + ".txt");
    }

    @Override
    public int size() {
        return images.size();
    }

    @Override
    public String id(int index) {
        return root.relativize(images.get(index)).toString();
    }

    @Override
    public RawSample read(int index) throws IOException {
        Path img = images.get(index);
        String id = id(index);
        String caption = DataFiles.utf8(DataFiles.read(captionOf(img), DataFiles.MAX_TEXT_BYTES, id + " caption"), id + " caption")
                .strip();
        return new RawSample(id, DataFiles.read(img, DataFiles.MAX_IMAGE_BYTES, id), caption, 0, 0);
    }

    @Override
    public SkipCounter skips() {
        return skips;
    }
}
