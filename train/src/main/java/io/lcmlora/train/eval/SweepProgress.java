package io.lcmlora.train.eval;

/** Progress of a sweep: images done over the whole sweep (images already on disk count as done from the start). */
public interface SweepProgress {
    /** Called once before generating: {@code alreadyDone} of {@code total} images exist (a resumed sweep). */
    void start(long total, long alreadyDone);

    /** {@code done} of the sweep's images exist; {@code setting} is the one being generated. */
    void images(long done, String setting);

    /** A message on its own line. */
    void message(String text);

    static SweepProgress none() {
        return new SweepProgress() {
            @Override
            public void start(long total, long alreadyDone) {}

            @Override
            public void images(long done, String setting) {}

            @Override
            public void message(String text) {}
        };
    }
}
