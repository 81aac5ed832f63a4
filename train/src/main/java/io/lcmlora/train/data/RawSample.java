package io.lcmlora.train.data;

/**
 * One example as stored: the encoded image, its caption, and the original size when the source records it
 * (0 when unknown; the decoded size is used then). {@code id} names it in messages (file, or shard:member).
 */
public record RawSample(String id, byte[] image, String caption, int originalWidth, int originalHeight) {}
