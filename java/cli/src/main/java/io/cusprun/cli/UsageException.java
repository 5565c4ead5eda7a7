package io.cusprun.cli;

/** Bad command-line usage: the CLI prints the message on one line and exits with 2. */
public final class UsageException extends RuntimeException {
    public UsageException(String message) {
        super(message);
    }
}
