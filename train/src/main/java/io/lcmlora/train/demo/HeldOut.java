package io.lcmlora.train.demo;

import io.lcmlora.io.AtomicFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The held-out emoji names: never used for training or distillation, only for evaluation prompts. Chosen
 * deterministically: the distinct names ordered by the SHA-256 of their UTF-8 bytes, the first
 * {@code round(fraction * n)} of them. All images of a held-out name (every skin tone) are held out.
 */
public final class HeldOut {
    private HeldOut() {}

    /** The held-out subset of {@code names}, sorted alphabetically. */
    public static List<String> select(Collection<String> names, double fraction) {
        if (!(fraction > 0 && fraction < 1)) {
            throw new IllegalArgumentException("held-out fraction must be in (0, 1), got " + fraction);
        }
        List<String> distinct = new ArrayList<>(new TreeSet<>(names));
        distinct.sort(Comparator.comparing(HeldOut::sha256));
        int k = Math.max(1, (int) Math.round(fraction * distinct.size()));
        return List.copyOf(new TreeSet<>(distinct.subList(0, k)));
    }

    /** Reads a held-out list: one name per line; blank lines and lines starting with '#' are ignored. */
    public static Set<String> read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException(file + ": held-out list not found");
        }
        Set<String> names = new TreeSet<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            String t = line.strip();
            if (!t.isEmpty() && !t.startsWith("#")) {
                names.add(t);
            }
        }
        if (names.isEmpty()) {
            throw new IOException(file + ": held-out list is empty");
        }
        return names;
    }

    /** Writes a held-out list with a header saying how it was chosen. */
    public static void write(Path file, List<String> names, int total, double fraction) throws IOException {
        StringBuilder b = new StringBuilder();
        b.append("# Held-out emoji names (").append(names.size()).append(" of ").append(total)
                .append(", fraction ").append(fraction).append("): never used for training or distillation.\n")
                .append("# Chosen by `lcm data heldout`: names ordered by SHA-256 of their UTF-8 bytes, the first ones.\n");
        names.forEach(n -> b.append(n).append('\n'));
        AtomicFiles.writeString(file, b.toString());
    }

    static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
