package io.cusprun.bench;

import io.cusprun.corpus.BatchPacker;
import io.cusprun.corpus.CorpusKind;
import io.cusprun.corpus.CorpusSpec;
import io.cusprun.corpus.DocumentBatch;
import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.model.Batch;
import io.cusprun.model.LayerHooks;
import io.cusprun.model.LlamaModel;
import io.cusprun.model.SafetensorsWriter;
import io.cusprun.model.Tensors;
import io.cusprun.score.RelevanceBackend;
import io.cusprun.score.RelevanceBackends;
import io.cusprun.score.ScoreSettings;
import io.cusprun.score.TorchRelevanceBackend;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** Shared set-up of the end-to-end benchmarks: models, corpora, the hook-style baseline, memory probes. */
final class E2E {
    private E2E() {}

    /** Where generated models live: $CUSPRUN_BENCH_DIR, default benchmarks/target/bench-models (run from the repo root). */
    static Path modelDir(String preset) throws IOException {
        String dir = System.getenv("CUSPRUN_BENCH_DIR");
        Path root = Path.of(dir == null || dir.isEmpty() ? "benchmarks/target/bench-models" : dir);
        return RandomCheckpoint.ensure(RandomCheckpoint.preset(preset), root.resolve(preset));
    }

    /** {@code docs} documents of {@code len} uniformly random token ids in [3, vocab), seeded. */
    static TokenizedCorpus corpus(int vocab, int docs, int len, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<long[]> d = new ArrayList<>();
        for (int i = 0; i < docs; i++) {
            long[] ids = new long[len];
            for (int t = 0; t < len; t++) ids[t] = 3 + r.nextInt(vocab - 3);
            d.add(ids);
        }
        return new TokenizedCorpus(new CorpusSpec(CorpusKind.DOMAIN, "bench", Path.of(".")), d);
    }

    /** The corpus as I64 [docs, len] in a safetensors file, for the Python peer. */
    static void writeCorpus(TokenizedCorpus c, Path file) throws IOException {
        int n = c.size(), len = c.documents().get(0).length;
        long[] flat = new long[n * len];
        for (int i = 0; i < n; i++) System.arraycopy(c.documents().get(i), 0, flat, i * len, len);
        Files.createDirectories(file.toAbsolutePath().getParent());
        try (PointerScope s = new PointerScope()) {
            SafetensorsWriter.writeFile(
                    file, Map.of("input_ids", Tensors.ofLongs(flat, n, len)), Map.of("format", "pt"));
        }
    }

    /** Benchmark settings: 512-token documents packed into 2048-token batches (the CLI defaults). */
    static ScoreSettings settings(boolean neurons) {
        return ScoreSettings.DEFAULTS.withNeurons(neurons);
    }

    /**
     * Plain forward (no lm_head, as scoring) over the same canonical batches, on a fresh thread as
     * the Scorer runs its worker (the calling thread's own OpenMP pool and malloc arena measured
     * differently: see benchmarks/README.md); returns tokens.
     */
    static long forward(LlamaModel model, TokenizedCorpus corpus, ScoreSettings s) throws InterruptedException {
        long[] out = new long[1];
        RuntimeException[] err = new RuntimeException[1];
        Thread t = new Thread(
                () -> {
                    try {
                        out[0] = forwardHere(model, corpus, s);
                    } catch (RuntimeException e) {
                        err[0] = e;
                    }
                },
                "bench-forward");
        t.start();
        t.join();
        if (err[0] != null) throw err[0];
        return out[0];
    }

    /** The same on the calling thread. */
    static long forwardHere(LlamaModel model, TokenizedCorpus corpus, ScoreSettings s) {
        long tokens = 0;
        try (NoGradGuard g = new NoGradGuard()) {
            for (DocumentBatch b : new BatchPacker(s.batchTokens(), s.batchDocs()).pack(corpus)) {
                try (PointerScope scope = new PointerScope()) {
                    Tensor h = model.hiddenStates(
                            new Batch(b.ids(), b.docOffsets()),
                            LayerHooks.inference(io.cusprun.engine.KernelBackend.NATIVE));
                    tokens += h.size(0);
                }
            }
        }
        return tokens;
    }

    /**
     * The hook-style baseline: capture as framework hooks do it (TorchRelevanceBackend: the
     * activation computed by separate silu and mul ops, copied out per document to fp64,
     * squared and summed by separate ops; attention output copied to fp64 and multiplied by
     * bmm; query/key neurons by the materialised reference, {@link #qkMaterialised}), with the
     * same native rank kernel as cusprun so that only the capture differs.
     */
    static RelevanceBackend hooks() {
        RelevanceBackend ranks = RelevanceBackends.byName("native").apply("cpu");
        RelevanceBackend t = TorchRelevanceBackend.INSTANCE;
        return new RelevanceBackend() {
            public Tensor ffnSwiglu(Tensor gate, Tensor up, Tensor docOffsets, Tensor acc) {
                return t.ffnSwiglu(gate, up, docOffsets, acc);
            }

            public void headGram(Tensor z, int numHeads, int groupSize, Tensor docOffsets, Tensor gram) {
                t.headGram(z, numHeads, groupSize, docOffsets, gram);
            }

            public void qkNeuron(Tensor q, Tensor k, int h, int hkv, float scale, Tensor docOffsets, Tensor acc) {
                long[] off = Tensors.toLongs(docOffsets.cpu());
                for (int i = 0; i + 1 < off.length; i++) {
                    long len = off[i + 1] - off[i];
                    if (len > 0)
                        qkMaterialised(
                                q.narrow(0, off[i], len), k.narrow(0, off[i], len), h, hkv, scale, acc.select(0, i));
                }
            }

            public void rankUpdate(Tensor relevance, Tensor rankMax, Tensor rankHist, Tensor relevanceSum) {
                ranks.rankUpdate(relevance, rankMax, rankHist, relevanceSum);
            }

            public String name() {
                return "hooks";
            }
        };
    }

    /** A line of /proc/self/status in KiB (VmHWM, VmRSS, ...). */
    static long statusKiB(String key) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status")))
                if (line.startsWith(key + ":")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return -1;
    }

    /** Resets VmHWM to the current RSS (Linux: "5" into /proc/self/clear_refs); false where not allowed. */
    static boolean resetPeak() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    static double median(double[] v) {
        double[] s = v.clone();
        java.util.Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    static String spread(double[] v) {
        double[] s = v.clone();
        java.util.Arrays.sort(s);
        return String.format(
                java.util.Locale.ROOT, "%.3g [%.3g..%.3g] (n=%d)", median(v), s[0], s[s.length - 1], s.length);
    }

    /**
     * The reference formulation of query/key neuron relevance for one document, as hook code
     * writes it: acc[H, d/2] += ||softmax(A) - softmax(A - D_j)||_F^2 with A the causal scores
     * and D_j the pair (j, j+d/2)'s share, all pairs at once: D is [H, d/2, T, T] in fp32.
     */
    static void qkMaterialised(Tensor q, Tensor k, int H, int Hkv, float scale, Tensor acc) {
        try (PointerScope s = new PointerScope()) {
            long T = q.size(0), d = q.size(2), P = d / 2;
            Tensor qh = q.permute(1, 0, 2); // [H, T, d]
            Tensor kh = k.permute(1, 0, 2)
                    .unsqueeze(1)
                    .expand(Hkv, H / Hkv, T, d)
                    .reshape(H, T, d); // [H, T, d], head h -> kv h/g
            Tensor mask = torch.ones(new long[] {T, T}, new TensorOptions(ScalarType.Bool))
                    .triu(1);
            Tensor A = torch.bmm(qh, kh.transpose(1, 2)).mul_(new Scalar(scale)); // [H, T, T]
            Tensor P0 = torch.softmax(A.masked_fill(mask, new Scalar(Double.NEGATIVE_INFINITY)), -1);
            // per-pair products: [H, T, P, 2] -> D[h, p, t, s] = sum_c q[h,t,p,c] k[h,s,p,c]
            Tensor qp = torch.stack(new TensorVector(qh.narrow(2, 0, P), qh.narrow(2, P, P)), 3);
            Tensor kp = torch.stack(new TensorVector(kh.narrow(2, 0, P), kh.narrow(2, P, P)), 3);
            Tensor D = torch.matmul(qp.permute(0, 2, 1, 3), kp.permute(0, 2, 3, 1)); // [H, P, T, T]
            D.neg_().mul_(new Scalar(scale)).add_(A.unsqueeze(1)); // A - D, in place
            D.masked_fill_(mask, new Scalar(Double.NEGATIVE_INFINITY));
            Tensor Pj = torch.softmax(D, -1);
            D.close();
            Pj.sub_(P0.unsqueeze(1)).mul_(Pj); // (softmax(A - D_j) - softmax(A))^2, in place
            acc.add_(Pj.sum(new long[] {2, 3}, false, new org.bytedeco.pytorch.ScalarTypeOptional())
                    .to(ScalarType.Double));
        }
    }
}
