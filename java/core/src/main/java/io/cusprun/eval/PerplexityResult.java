package io.cusprun.eval;

/**
 * Perplexity over a set of scored tokens.
 *
 * @param nll        mean negative log-likelihood per scored token (natural log)
 * @param tokens     number of scored tokens
 * @param perplexity exp(nll)
 */
public record PerplexityResult(double nll, long tokens, double perplexity) {

    /** From the summed log-likelihood (a negative number) of {@code tokens} tokens. */
    public static PerplexityResult of(double sumLogLikelihood, long tokens) {
        double nll = tokens == 0 ? Double.NaN : -sumLogLikelihood / tokens;
        return new PerplexityResult(nll, tokens, Math.exp(nll));
    }
}
