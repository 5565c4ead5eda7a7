package io.cusprun.model;

import java.io.IOException;
import java.nio.file.Path;

/** A safetensors file or index that cannot be used; the message is one line naming the file (and tensor). */
public class SafetensorsException extends IOException {

    public SafetensorsException(Path file, String message) {
        super(file + ": " + message);
    }

    public SafetensorsException(Path file, String tensor, String message) {
        super(file + ": tensor '" + tensor + "': " + message);
    }
}
