package io.cusprun.eval;

import io.cusprun.model.Batch;
import io.cusprun.model.Decoder;
import io.cusprun.model.LayerHooks;
import io.cusprun.model.Tensors;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Log-likelihoods of {@link ScoreRequest}s: requests are packed as documents into batches of
 * about {@code batchTokens} tokens, run once through the decoder (in memory or streamed), and only the rows that predict a scored token go
 * through lm_head and log_softmax (in fp32, in chunks), so the [T, V] logits of a whole batch
 * never exist at once.
 */
public final class TokenScorer {

    private static final int ROW_CHUNK = 512;

    private final Decoder model;
    private final int batchTokens;

    public TokenScorer(Decoder model, int batchTokens) {
        if (batchTokens < 1) {
            throw new IllegalArgumentException("batchTokens must be positive");
        }
        this.model = model;
        this.batchTokens = batchTokens;
    }

    /** Per request: the sum of the log-probabilities of its target tokens (natural log). */
    public double[] logLikelihoods(List<ScoreRequest> requests) {
        double[] out = new double[requests.size()];
        List<Packed> packed = new ArrayList<>();
        int start = 0;
        while (start < requests.size()) {
            int end = start;
            long tokens = 0;
            while (end < requests.size()
                    && (end == start || tokens + requests.get(end).ids().length <= batchTokens)) {
                tokens += requests.get(end).ids().length;
                end++;
            }
            packed.add(new Packed(requests.subList(start, end), start));
            start = end;
        }
        List<Batch> batches = packed.stream().map(Packed::batch).toList();
        model.run(
                batches,
                b -> LayerHooks.inference(model.options().ffn()),
                (b, hidden) -> packed.get(b).score(hidden, out));
        return out;
    }

    /** Requests packed into one batch, with the rows that predict their targets. */
    private final class Packed {
        final Batch batch;
        final int outOffset;
        final long[] rows;
        final long[] targets;
        final int[] owner;

        Packed(List<ScoreRequest> requests, int outOffset) {
            List<long[]> docs = new ArrayList<>();
            requests.forEach(r -> docs.add(r.ids()));
            this.batch = Batch.pack(docs);
            this.outOffset = outOffset;
            int total = requests.stream().mapToInt(ScoreRequest::targets).sum();
            rows = new long[total];
            targets = new long[total];
            owner = new int[total];
            int k = 0;
            for (int r = 0; r < requests.size(); r++) {
                ScoreRequest req = requests.get(r);
                for (int t = req.firstTarget(); t < req.ids().length; t++, k++) {
                    rows[k] = batch.docStart(r) + t - 1;
                    targets[k] = req.ids()[t];
                    owner[k] = r;
                }
            }
        }

        Batch batch() {
            return batch;
        }

        void score(Tensor hidden, double[] out) {
            for (int from = 0; from < rows.length; from += ROW_CHUNK) {
                int n = Math.min(ROW_CHUNK, rows.length - from);
                float[] logp = chunkLogProbs(hidden, rows, targets, from, n);
                for (int i = 0; i < n; i++) {
                    out[outOffset + owner[from + i]] += logp[i];
                }
            }
        }
    }

    private float[] chunkLogProbs(Tensor hidden, long[] rows, long[] targets, int from, int n) {
        try (PointerScope scope = new PointerScope()) {
            Tensor device = hidden;
            Tensor rowIdx = Tensors.ofLongs(java.util.Arrays.copyOfRange(rows, from, from + n))
                    .to(device.device(), torch.ScalarType.Long);
            Tensor tgtIdx = Tensors.ofLongs(java.util.Arrays.copyOfRange(targets, from, from + n), n, 1)
                    .to(device.device(), torch.ScalarType.Long);
            Tensor logits = model.project(hidden.index_select(0, rowIdx)).to(torch.ScalarType.Float);
            Tensor logp = torch.log_softmax(logits, 1).gather(1, tgtIdx);
            return Tensors.toFloats(logp);
        }
    }
}
