package io.cusprun.eval;

import io.cusprun.NonFiniteException;
import io.cusprun.model.Decoder;
import io.cusprun.model.TextTokenizer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Log-likelihood multiple choice, following lm-evaluation-harness (HFLM loglikelihood and
 * ConfigurableTask.process_results): trailing spaces of the context move to the continuation;
 * the continuation's tokens are those of encode(context + continuation) past the tokens of
 * encode(context); BOS is prepended to the context when the model's tokenizer adds BOS, and an
 * empty context without BOS starts from EOS (lm-eval's prefix token); input longer than
 * maxLength + 1 keeps its last tokens. acc = argmax of the summed log-likelihoods is the answer
 * (first maximum wins); acc_norm divides each by the choice's length.
 */
public final class MultipleChoice {

    private final TextTokenizer tokenizer;
    private final TokenScorer scorer;
    private final int maxLength;

    public MultipleChoice(Decoder model, TextTokenizer tokenizer, int maxLength, int batchTokens) {
        this.tokenizer = tokenizer;
        this.scorer = new TokenScorer(model, batchTokens);
        this.maxLength = maxLength;
    }

    public McResult evaluate(List<McItem> items) {
        return metrics(items, logLikelihoods(items));
    }

    /** The log-likelihood of every choice of every item, in order (the numbers acc is computed from). */
    public double[] logLikelihoods(List<McItem> items) {
        List<ScoreRequest> requests = new ArrayList<>();
        for (McItem item : items) {
            for (String choice : item.choices()) {
                requests.add(request(item.context(), item.delimiter() + choice));
            }
        }
        double[] ll = scorer.logLikelihoods(requests);
        int k = 0;
        for (int i = 0; i < items.size(); i++) {
            for (int c = 0; c < items.get(i).choices().size(); c++, k++) {
                if (!Double.isFinite(ll[k])) {
                    throw new NonFiniteException("item " + (i + 1) + ", choice " + c + ": log-likelihood is "
                            + NonFiniteException.describe(ll[k])
                            + " (non-finite logits: the model's weights or activations overflow)");
                }
            }
        }
        return ll;
    }

    /** acc, acc_norm and acc_norm_bytes from the choices' log-likelihoods (items' choices in order). */
    public static McResult metrics(List<McItem> items, double[] ll) {
        int correct = 0;
        int correctNorm = 0;
        int correctBytes = 0;
        int k = 0;
        for (McItem item : items) {
            int n = item.choices().size();
            double[] raw = Arrays.copyOfRange(ll, k, k + n);
            double[] byChars = new double[n];
            double[] byBytes = new double[n];
            for (int i = 0; i < n; i++) {
                String c = item.choices().get(i);
                byChars[i] = raw[i] / c.codePointCount(0, c.length());
                byBytes[i] = raw[i] / c.getBytes(StandardCharsets.UTF_8).length;
            }
            correct += argmax(raw) == item.answer() ? 1 : 0;
            correctNorm += argmax(byChars) == item.answer() ? 1 : 0;
            correctBytes += argmax(byBytes) == item.answer() ? 1 : 0;
            k += n;
        }
        int total = items.size();
        return new McResult(
                (double) correct / total, (double) correctNorm / total, (double) correctBytes / total, total);
    }

    /** The scored request for a continuation after a context (lm-eval's _encode_pair and truncation). */
    ScoreRequest request(String context, String continuation) {
        int spaces = context.length() - context.stripTrailing().length();
        if (spaces > 0) {
            continuation = context.substring(context.length() - spaces) + continuation;
            context = context.substring(0, context.length() - spaces);
        }
        long[] whole = tokenizer.encode(context + continuation);
        long[] ctx = tokenizer.encode(context);
        long[] cont = Arrays.copyOfRange(whole, Math.min(ctx.length, whole.length), whole.length);
        if (cont.length == 0) {
            throw new IllegalArgumentException("continuation '" + continuation + "' has no tokens of its own");
        }
        long[] prefix = tokenizer.encode(context, true);
        if (prefix.length == 0) {
            Long start = !tokenizer.eosIds().isEmpty() ? tokenizer.eosIds().get(0) : tokenizer.bosId();
            if (start == null) {
                throw new IllegalArgumentException("empty context and the tokenizer has neither BOS nor EOS");
            }
            prefix = new long[] {start};
        }
        long[] all = new long[prefix.length + cont.length];
        System.arraycopy(prefix, 0, all, 0, prefix.length);
        System.arraycopy(cont, 0, all, prefix.length, cont.length);
        if (all.length > maxLength + 1) {
            all = Arrays.copyOfRange(all, all.length - (maxLength + 1), all.length);
        }
        // all[:-1] is the model input; the last cont.length tokens are scored
        return new ScoreRequest(all, Math.max(1, all.length - cont.length));
    }

    private static int argmax(double[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }
}
