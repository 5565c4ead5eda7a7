package io.cusprun.model;

import java.io.IOException;
import java.nio.file.Path;

/** A safetensors file or index that cannot be used; the message is one line naming the file (and tensor). */
public class SafetensorsException extends IOException {

    public SafetensorsException(Path file, String message) {
        super(file + ": " + message);
    }

    public SafetensorsException(Path file, String tensor, String message) {
        super(file + ": tensor '" + printable(tensor) + "': " + message);
    }

    /** A name from a file as it may appear in a one-line message: control characters escaped, at most 200 characters. */
    public static String printable(String name) {
        StringBuilder b = new StringBuilder();
        name.codePoints().limit(200).forEach(c -> {
            if (Character.isISOControl(c)) {
                b.append(String.format("\\u%04x", c));
            } else {
                b.appendCodePoint(c);
            }
        });
        return name.codePointCount(0, name.length()) > 200 ? b + "..." : b.toString();
    }
}
