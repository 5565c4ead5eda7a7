package io.cusprun.score;

import io.cusprun.SettingException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalInt;

/**
 * What decides the numbers of a score run. Two runs (shards, resumed runs) can be merged
 * only when these agree; devices and worker counts are not here because they do not change
 * the result.
 *
 * @param maxTokens    documents truncated to this many tokens
 * @param maxDocs      at most this many documents read per corpus; empty: all of them
 * @param bins         histogram bins of the per-document percentile ranks
 * @param batchTokens  token budget of a packed batch (fixes the packing, hence the floats)
 * @param batchDocs    most documents in a batch
 * @param neurons      also score query/key pairs and value/output neurons (neuron granularity)
 */
public record ScoreSettings(
        int maxTokens, OptionalInt maxDocs, int bins, int batchTokens, int batchDocs, boolean neurons) {
    /** The settings of a plain run; callers change what they need with the {@code with} methods. */
    public static final ScoreSettings DEFAULTS = new ScoreSettings(512, OptionalInt.empty(), 100, 2048, 16, false);

    public ScoreSettings {
        atLeast("maxTokens", maxTokens, 1);
        if (maxDocs == null) maxDocs = OptionalInt.empty();
        if (maxDocs.isPresent()) atLeast("maxDocs", maxDocs.getAsInt(), 1);
        atLeast("bins", bins, 1);
        atLeast("batchTokens", batchTokens, 1);
        atLeast("batchDocs", batchDocs, 1);
    }

    private static void atLeast(String setting, int value, int min) {
        if (value < min) throw new SettingException(setting, "must be at least " + min + ", not " + value);
    }

    public ScoreSettings withMaxTokens(int n) {
        return new ScoreSettings(n, maxDocs, bins, batchTokens, batchDocs, neurons);
    }

    /** At most {@code n} (at least 1) documents per corpus when present, else all of them. */
    public ScoreSettings withMaxDocs(OptionalInt n) {
        return new ScoreSettings(maxTokens, n, bins, batchTokens, batchDocs, neurons);
    }

    /** Every document of each corpus (the default). */
    public ScoreSettings withAllDocs() {
        return new ScoreSettings(maxTokens, OptionalInt.empty(), bins, batchTokens, batchDocs, neurons);
    }

    public ScoreSettings withBins(int n) {
        return new ScoreSettings(maxTokens, maxDocs, n, batchTokens, batchDocs, neurons);
    }

    public ScoreSettings withBatchTokens(int n) {
        return new ScoreSettings(maxTokens, maxDocs, bins, n, batchDocs, neurons);
    }

    public ScoreSettings withBatchDocs(int n) {
        return new ScoreSettings(maxTokens, maxDocs, bins, batchTokens, n, neurons);
    }

    public ScoreSettings withNeurons(boolean on) {
        return new ScoreSettings(maxTokens, maxDocs, bins, batchTokens, batchDocs, on);
    }

    public Map<String, String> toMap() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("max_tokens", Integer.toString(maxTokens));
        m.put("max_docs", Integer.toString(maxDocs.orElse(0))); // score files: 0 = all (docs/scores.md)
        m.put("bins", Integer.toString(bins));
        m.put("batch_tokens", Integer.toString(batchTokens));
        m.put("batch_docs", Integer.toString(batchDocs));
        m.put("neurons", Boolean.toString(neurons));
        return m;
    }

    private static OptionalInt maxDocs(int stored) {
        return stored == 0 ? OptionalInt.empty() : OptionalInt.of(stored);
    }

    public static ScoreSettings fromMap(Map<String, String> m) {
        return new ScoreSettings(
                Integer.parseInt(m.get("max_tokens")),
                maxDocs(Integer.parseInt(m.get("max_docs"))),
                Integer.parseInt(m.get("bins")),
                Integer.parseInt(m.get("batch_tokens")),
                Integer.parseInt(m.get("batch_docs")),
                Boolean.parseBoolean(m.get("neurons")));
    }
}
