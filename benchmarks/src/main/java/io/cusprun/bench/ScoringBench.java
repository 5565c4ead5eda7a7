package io.cusprun.bench;

import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.model.LlamaModel;
import io.cusprun.score.RelevanceBackends;
import io.cusprun.score.ScoreSettings;
import io.cusprun.score.ScoreTarget;
import io.cusprun.score.Scorer;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.*;

/**
 * End to end on a random checkpoint (preset {@code small}: hidden 1024, 4 layers, GQA 16/4,
 * FFN 4096; generated under benchmarks/target/bench-models on first use): one op = {@code docs}
 * documents of 512 random tokens through
 * <ul>
 *   <li>{@code forward}: plain forward pass (no lm_head), same canonical batches;</li>
 *   <li>{@code cusprun}: {@code Scorer.score} with the fused native kernels;</li>
 *   <li>{@code hooks}: {@code Scorer.score} with hook-style capture ({@link E2E#hooks}).</li>
 * </ul>
 * {@code elements} = tokens, so its rate is tokens/s. For ratios under a noisy load prefer
 * {@link ScoringRatio}, which interleaves the three in every round.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class ScoringBench {
    @Param({"forward", "cusprun", "hooks"})
    public String mode;

    @Param({"small"})
    public String preset;

    @Param({"4"})
    public int docs;

    private ScoreTarget target;
    private LlamaModel model;
    private List<TokenizedCorpus> corpora;
    private ScoreSettings settings;

    @Setup
    public void setup() throws Exception {
        io.cusprun.engine.CpuRuntime.configure(); // the shipped native libraries, before any tensor
        var dir = E2E.modelDir(preset);
        target = mode.equals("hooks")
                ? ScoreTarget.open(dir, d -> E2E.hooks())
                : ScoreTarget.open(dir, RelevanceBackends.byName("native"));
        model = target.model("cpu");
        corpora = List.of(E2E.corpus(RandomCheckpoint.preset(preset).vocab(), docs, 512, 42));
        settings = E2E.settings(false);
    }

    @TearDown
    public void tearDown() {
        target.close();
    }

    @Benchmark
    public Object score(Traffic c) throws Exception {
        Object r;
        if (mode.equals("forward")) {
            r = E2E.forward(model, corpora.get(0), settings);
        } else {
            r = Scorer.score(target, corpora, settings);
        }
        c.add((long) docs * 512, 0, 0);
        return r;
    }
}
