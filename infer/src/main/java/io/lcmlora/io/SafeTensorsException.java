package io.lcmlora.io;

import java.io.IOException;

/** A safetensors file that is malformed or does not hold what the caller expected. */
public class SafeTensorsException extends IOException {
    public SafeTensorsException(String message) {
        super(message);
    }
}
