package io.cusprun;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A child process for the interruption tests: starts writing {@code args[1]} (a directory when
 * {@code args[0]} is "dir", else a file), says "ready" on stdout once the temporary exists, and
 * waits to be stopped.
 */
public final class HoldTemporary {
    private HoldTemporary() {}

    public static void main(String[] args) throws Exception {
        Path target = Path.of(args[1]);
        if (args[0].equals("dir")) {
            AtomicOutput.writeDirectory(target, tmp -> {
                Files.writeString(tmp.resolve("part.bin"), "half written");
                AtomicOutput.writeString(tmp.resolve("config.json"), "{}");
                hold();
            });
        } else {
            AtomicOutput.writeFile(target, ch -> {
                AtomicOutput.writeAll(ch, java.nio.ByteBuffer.wrap("half written".getBytes()));
                hold();
            });
        }
    }

    private static void hold() {
        System.out.println("ready");
        System.out.flush();
        try {
            Thread.sleep(60_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
