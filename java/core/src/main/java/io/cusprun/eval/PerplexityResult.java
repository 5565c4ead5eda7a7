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

    /**
     * Bits per byte of the text these tokens spell, {@code textBytes} UTF-8 bytes: the summed
     * negative log-likelihood in bits over the bytes. Unlike perplexity per token it compares
     * models with different tokenizers, when every token of the text was scored (documents that
     * start with BOS: the first token scored is the text's first).
     */
    public double bitsPerByte(long textBytes) {
        return nll * tokens / Math.log(2) / textBytes;
    }

    /** UTF-8 bytes of the documents, the denominator of {@link #bitsPerByte}. */
    public static long utf8Bytes(java.util.List<String> documents) {
        long n = 0;
        for (String d : documents) {
            n += d.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        }
        return n;
    }
}
