package io.cusprun.engine;

/** A native kernel call failed: carries the C status code and {@code cusprun_last_error()}. */
public class KernelException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int status;

    public KernelException(int status, String message) {
        super(message);
        this.status = status;
    }

    /** The {@code cusprun_status} value (e.g. 3 = CUSPRUN_ERR_NO_CUDA). */
    public int status() {
        return status;
    }
}
