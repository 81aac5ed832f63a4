package io.lcmlora.train.data;

import io.lcmlora.train.config.DataConfig;
import io.lcmlora.train.loop.Rng;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;

/**
 * Examples ready for the VAE: read from a source, decoded, bucketed and transformed. An example that cannot be
 * used (unreadable or oversized image, missing caption, I/O error) is counted in {@link #skips()} and
 * {@link #load} returns empty; it never stops training.
 *
 * <p>Memory: before an image is decoded its header size gives the bytes that decoding and {@link Preprocess#apply}
 * will allocate ({@link ImageDecoder.Size#decodeBytes()} + {@link Preprocess.Plan#workingBytes()}); an image over
 * {@link #maxImageBytes()} is skipped as {@code image too large} without allocating. The budget is shared: a
 * decode reserves its bytes from it first and waits while other workers hold them, so the working memory of all
 * {@link #forEach} workers together stays within one budget (plus the finished examples in flight, at most
 * {@code 2n} for {@code n} workers, each {@code 3 x target pixels} floats).
 */
public final class ImageDataset {
    /** Default per-image budget: enough for an image of {@link ImageDecoder#MAX_PIXELS} at 8192 px. */
    public static final long DEFAULT_MAX_IMAGE_BYTES = 1L << 30;

    /** One transformed example; {@code bucket} is its index in {@link #buckets()}. */
    public record Example(int index, String id, String caption, Preprocess.Processed image, int bucket) {}

    /** What loading one example gave: the example, or the skip reason and detail; {@code kept} a problem it was used with. */
    private record Loaded(Example example, String skipReason, String skipDetail, String kept) {}

    private final ImageCaptionSource source;
    private final Preprocess preprocess;
    private final AspectBuckets buckets;
    private final DataConfig.EmptyCaptions emptyCaptions;
    private final long maxImageBytes;
    /** The budget in KiB, shared by every thread decoding for this dataset. */
    private final Semaphore budgetKib;

    public ImageDataset(ImageCaptionSource source, Preprocess preprocess, AspectBuckets buckets,
            DataConfig.EmptyCaptions emptyCaptions, long maxImageBytes) {
        if (maxImageBytes < 1) {
            throw new IllegalArgumentException("maxImageBytes must be positive, got " + maxImageBytes);
        }
        this.source = source;
        this.preprocess = preprocess;
        this.buckets = buckets;
        this.emptyCaptions = emptyCaptions;
        this.maxImageBytes = maxImageBytes;
        this.budgetKib = new Semaphore((int) Math.min(Integer.MAX_VALUE, (maxImageBytes + 1023) / 1024));
    }

    /** Source, transform and buckets (SDXL buckets when {@code data.buckets}, else one square) from the config. */
    public static ImageDataset of(ImageCaptionSource source, DataConfig d) {
        return of(source, d, DEFAULT_MAX_IMAGE_BYTES);
    }

    /** As {@link #of(ImageCaptionSource, DataConfig)} with a per-image memory budget in bytes. */
    public static ImageDataset of(ImageCaptionSource source, DataConfig d, long maxImageBytes) {
        return new ImageDataset(source, Preprocess.of(d),
                d.buckets() ? AspectBuckets.forResolution(d.resolution()) : AspectBuckets.square(d.resolution()),
                d.emptyCaptions(), maxImageBytes);
    }

    public int size() {
        return source.size();
    }

    public AspectBuckets buckets() {
        return buckets;
    }

    public SkipCounter skips() {
        return source.skips();
    }

    public ImageCaptionSource source() {
        return source;
    }

    public long maxImageBytes() {
        return maxImageBytes;
    }

    /** KiB of the budget free now (all of it when no decode is running). */
    int freeBudgetKib() {
        return budgetKib.availablePermits();
    }

    /** Loads example {@code index}; random crop/flip draw from {@code rng}. Empty (and counted) when unusable. */
    public Optional<Example> load(int index, Rng rng) {
        return record(prepare(index, rng));
    }

    /** Receives the usable examples of {@link #forEach} in index order. */
    public interface ExampleSink {
        void accept(Example e) throws IOException;
    }

    /**
     * Loads every example in index order, example {@code i} drawing its crop/flip from {@code rngOf.apply(i)},
     * decoding on {@code workers} threads (0: on this one). Usable examples reach {@code sink} and skips are counted
     * in index order on the calling thread, so examples, counts and the skip report are the same for every
     * worker count.
     */
    public void forEach(int workers, IntFunction<Rng> rngOf, ExampleSink sink) throws IOException {
        if (workers < 0) {
            throw new IllegalArgumentException("workers must be >= 0, got " + workers);
        }
        if (workers == 0) {
            for (int i = 0; i < size(); i++) {
                Optional<Example> e = record(prepare(i, rngOf.apply(i)));
                if (e.isPresent()) {
                    sink.accept(e.get());
                }
            }
            return;
        }
        AtomicInteger thread = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(workers, r -> {
            Thread t = new Thread(r, "lcm-decode-" + thread.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        try {
            ArrayDeque<Future<Loaded>> inFlight = new ArrayDeque<>();
            int next = 0;
            while (next < size() || !inFlight.isEmpty()) {
                while (next < size() && inFlight.size() < 2 * workers) {
                    int i = next++;
                    inFlight.add(pool.submit(() -> prepare(i, rngOf.apply(i))));
                }
                Loaded l;
                try {
                    l = inFlight.poll().get();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while decoding images", e);
                } catch (ExecutionException e) {
                    Throwable c = e.getCause();
                    if (c instanceof RuntimeException r) {
                        throw r;
                    }
                    if (c instanceof Error err) {
                        throw err;
                    }
                    throw new IOException(c);
                }
                Optional<Example> e = record(l);
                if (e.isPresent()) {
                    sink.accept(e.get());
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    private Optional<Example> record(Loaded l) {
        if (l.example() == null) {
            skips().skip(l.skipReason(), l.skipDetail());
            return Optional.empty();
        }
        if (l.kept() != null) {
            skips().keep(l.kept(), l.example().id());
        }
        return Optional.of(l.example());
    }

    /** Reads, checks, decodes and transforms one example; counts nothing (so it may run on any thread). */
    private Loaded prepare(int index, Rng rng) {
        String id = source.id(index);
        try {
            RawSample raw = source.read(index);
            boolean blank = raw.caption().isBlank();
            if (blank) {
                switch (emptyCaptions) {
                    case USE -> { }
                    case SKIP -> throw new SkipException("empty caption", id);
                }
            }
            // Sizes from the header, then the whole allocation of decode + transform, before any pixel exists.
            ImageDecoder.Size size = ImageDecoder.size(raw.image(), id);
            int bucket = buckets.assign(size.width(), size.height());
            AspectBuckets.Bucket b = buckets.bucket(bucket);
            Preprocess.Plan plan = preprocess.plan(size.width(), size.height(), b.height(), b.width());
            long need = size.decodeBytes() > Long.MAX_VALUE - plan.workingBytes() ? Long.MAX_VALUE
                    : size.decodeBytes() + plan.workingBytes();
            if (need > maxImageBytes) {
                throw new SkipException("image too large", id + " (" + size.width() + "x" + size.height() + " needs "
                        + mib(need) + " to decode and resize to " + b.width() + "x" + b.height() + ", over the "
                        + mib(maxImageBytes) + " per-image budget)");
            }
            int kib = (int) Math.min(Integer.MAX_VALUE, (need + 1023) / 1024); // <= the budget's permits: need <= max
            Preprocess.Processed p;
            budgetKib.acquireUninterruptibly(kib);
            try {
                BufferedImage img = ImageDecoder.decode(raw.image(), id);
                p = preprocess.apply(img, b.height(), b.width(), raw.originalWidth(), raw.originalHeight(), rng);
            } finally {
                budgetKib.release(kib);
            }
            return new Loaded(new Example(index, id, raw.caption(), p, bucket), null, null, blank ? "empty caption" : null);
        } catch (SkipException e) {
            return new Loaded(null, e.reason(), id, null);
        } catch (TarReader.TarException e) {
            return new Loaded(null, e.reason(), e.getMessage(), null);
        } catch (IOException e) {
            return new Loaded(null, "read error", id + " (" + e.getMessage() + ")", null);
        }
    }

    private static String mib(long bytes) {
        return bytes == Long.MAX_VALUE ? "more than 8 EiB" : String.format("%.1f MiB", bytes / 1048576.0);
    }
}
