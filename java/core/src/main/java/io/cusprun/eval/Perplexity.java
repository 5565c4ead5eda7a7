package io.cusprun.eval;

import io.cusprun.NonFiniteException;
import io.cusprun.model.Decoder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Perplexity of token sequences with a sliding window, as in HF's "Perplexity of fixed-length
 * models" guide: windows of at most {@code maxLength} tokens start every {@code stride} tokens;
 * each window scores only the tokens past the previous window's end (so every token is scored
 * once, with up to maxLength - 1 tokens of context), and the first token of a sequence is never
 * scored. Sequences are independent; the result pools all scored tokens.
 */
public final class Perplexity {

    /** One window [begin, end) of a sequence, scoring positions [firstTarget, end). */
    public record Window(int begin, int end, int firstTarget) {}

    private final TokenScorer scorer;
    private final int maxLength;
    private final int stride;

    public Perplexity(Decoder model, int maxLength, int stride, int batchTokens) {
        if (maxLength < 2 || stride < 1 || stride > maxLength) {
            throw new IllegalArgumentException(
                    "need maxLength >= 2 and 1 <= stride <= maxLength, got " + maxLength + " and " + stride);
        }
        this.scorer = new TokenScorer(model, batchTokens);
        this.maxLength = maxLength;
        this.stride = stride;
    }

    /** The HF guide's windows over a sequence of {@code length} tokens. */
    public static List<Window> windows(int length, int maxLength, int stride) {
        List<Window> out = new ArrayList<>();
        int prevEnd = 0;
        for (int begin = 0; begin < length; begin += stride) {
            int end = Math.min(begin + maxLength, length);
            int targetLength = end - prevEnd;
            int first = Math.max(end - targetLength, begin + 1);
            if (first < end) {
                out.add(new Window(begin, end, first));
            }
            prevEnd = end;
            if (end == length) {
                break;
            }
        }
        return out;
    }

    public PerplexityResult evaluate(List<long[]> sequences) {
        List<ScoreRequest> requests = new ArrayList<>();
        List<Integer> document = new ArrayList<>();
        long tokens = 0;
        for (int d = 0; d < sequences.size(); d++) {
            long[] seq = sequences.get(d);
            for (Window w : windows(seq.length, maxLength, stride)) {
                long[] ids = Arrays.copyOfRange(seq, w.begin(), w.end());
                requests.add(new ScoreRequest(ids, w.firstTarget() - w.begin()));
                document.add(d);
                tokens += w.end() - w.firstTarget();
            }
        }
        double[] ll = scorer.logLikelihoods(requests);
        double sum = 0;
        for (int r = 0; r < ll.length; r++) {
            if (!Double.isFinite(ll[r])) {
                throw new NonFiniteException("document " + (document.get(r) + 1) + ": log-likelihood is "
                        + NonFiniteException.describe(ll[r])
                        + " (non-finite logits: the model's weights or activations overflow)");
            }
            sum += ll[r];
        }
        PerplexityResult result = PerplexityResult.of(sum, tokens);
        if (tokens > 0 && !Double.isFinite(result.perplexity())) {
            throw new NonFiniteException("perplexity overflows: exp(nll) with nll " + result.nll() + " per token");
        }
        return result;
    }
}
