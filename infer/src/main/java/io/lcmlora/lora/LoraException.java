package io.lcmlora.lora;

/** A LoRA file or adapter that cannot be used; the message names the file, key or module and what was expected. */
public final class LoraException extends RuntimeException {
    public LoraException(String message) {
        super(message);
    }
}
