package io.cusprun;

/**
 * A computation produced a NaN or an infinity (a loss, a log-likelihood, a relevance), or a
 * relevance too large for the exact sums (2^62 or more: an overflow all the same): the
 * message is one line naming where it first appeared (the layer, module, document), so that no
 * NaN is ever printed as a result. Front ends report it as a failure.
 */
public class NonFiniteException extends ArithmeticException {

    public NonFiniteException(String message) {
        super(message);
    }

    /** "NaN", "+Inf" or "-Inf". */
    public static String describe(double v) {
        return Double.isNaN(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf";
    }
}
