package io.cusprun.bench;

import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.model.LlamaModel;
import io.cusprun.score.RelevanceBackends;
import io.cusprun.score.ScoreSettings;
import io.cusprun.score.ScoreTarget;
import io.cusprun.score.Scorer;
import java.util.List;
import java.util.Locale;

/**
 * One mode alone, repeated, each pass timed (for profilers and thread experiments).
 * Args: mode (forward|forward-main|cusprun|hooks; forward-main runs on the JVM's main thread) [preset=small] [docs=4] [passes=5] [torchThreads=0: default]
 * [neurons=false] (query/key and value/output neurons too, as {@code score --neurons}).
 */
public final class ScoringProbe {
    public static void main(String[] args) throws Exception {
        io.cusprun.engine.CpuRuntime.configure(); // the shipped native libraries, before any tensor
        String mode = args[0];
        String preset = args.length > 1 ? args[1] : "small";
        int docs = args.length > 2 ? Integer.parseInt(args[2]) : 4;
        int passes = args.length > 3 ? Integer.parseInt(args[3]) : 5;
        int threads = args.length > 4 ? Integer.parseInt(args[4]) : 0;
        boolean neurons = args.length > 5 && Boolean.parseBoolean(args[5]);
        if (threads > 0) org.bytedeco.pytorch.global.torch.set_num_threads(threads);
        var dir = E2E.modelDir(preset);
        long[] nanos = new long[4];
        java.util.function.Function<String, io.cusprun.score.RelevanceBackend> backends = mode.equals("hooks")
                ? d -> timed(E2E.hooks(), nanos)
                : d -> timed(RelevanceBackends.byName("native").apply(d), nanos);
        try (ScoreTarget t = ScoreTarget.open(dir, backends)) {
            LlamaModel model = t.model("cpu");
            TokenizedCorpus c = E2E.corpus(RandomCheckpoint.preset(preset).vocab(), docs, 512, 42);
            ScoreSettings s = E2E.settings(neurons);
            double[] tps = new double[passes];
            for (int p = 0; p < passes; p++) {
                long t0 = System.nanoTime();
                if (mode.equals("forward")) E2E.forward(model, c, s);
                else if (mode.equals("forward-main")) E2E.forwardHere(model, c, s);
                else Scorer.score(t, List.of(c), s);
                tps[p] = docs * 512 / ((System.nanoTime() - t0) / 1e9);
                System.out.printf(
                        Locale.ROOT,
                        "%s pass %d: %.0f tok/s (ffn %.2f s, gram %.2f s, ranks %.2f s)%n",
                        mode,
                        p,
                        tps[p],
                        nanos[0] / 1e9,
                        nanos[1] / 1e9,
                        nanos[3] / 1e9);
                java.util.Arrays.fill(nanos, 0);
            }
            System.out.printf(
                    "%s tok/s %s, peak RSS %.0f MiB%n", mode, E2E.spread(tps), E2E.statusKiB("VmHWM") / 1024.0);
        }
    }

    /** Wall time spent in each kernel of a backend: [ffn, gram, qk, ranks]. */
    static io.cusprun.score.RelevanceBackend timed(io.cusprun.score.RelevanceBackend b, long[] nanos) {
        return new io.cusprun.score.RelevanceBackend() {
            public org.bytedeco.pytorch.Tensor ffnSwiglu(
                    org.bytedeco.pytorch.Tensor g,
                    org.bytedeco.pytorch.Tensor u,
                    org.bytedeco.pytorch.Tensor o,
                    org.bytedeco.pytorch.Tensor a) {
                long t0 = System.nanoTime();
                try {
                    return b.ffnSwiglu(g, u, o, a);
                } finally {
                    nanos[0] += System.nanoTime() - t0;
                }
            }

            public void headGram(
                    org.bytedeco.pytorch.Tensor z,
                    int h,
                    int g,
                    org.bytedeco.pytorch.Tensor o,
                    org.bytedeco.pytorch.Tensor gram) {
                long t0 = System.nanoTime();
                try {
                    b.headGram(z, h, g, o, gram);
                } finally {
                    nanos[1] += System.nanoTime() - t0;
                }
            }

            public void qkNeuron(
                    org.bytedeco.pytorch.Tensor q,
                    org.bytedeco.pytorch.Tensor k,
                    int h,
                    int hkv,
                    float s,
                    org.bytedeco.pytorch.Tensor o,
                    org.bytedeco.pytorch.Tensor a) {
                long t0 = System.nanoTime();
                try {
                    b.qkNeuron(q, k, h, hkv, s, o, a);
                } finally {
                    nanos[2] += System.nanoTime() - t0;
                }
            }

            public void rankUpdate(
                    org.bytedeco.pytorch.Tensor rel,
                    org.bytedeco.pytorch.Tensor max,
                    org.bytedeco.pytorch.Tensor hist,
                    org.bytedeco.pytorch.Tensor sum) {
                long t0 = System.nanoTime();
                try {
                    b.rankUpdate(rel, max, hist, sum);
                } finally {
                    nanos[3] += System.nanoTime() - t0;
                }
            }

            public String name() {
                return b.name();
            }
        };
    }
}
