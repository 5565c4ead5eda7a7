package io.cusprun.score;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What decides the numbers of a score run. Two runs (shards, resumed runs) can be merged
 * only when these agree; devices and worker counts are not here because they do not change
 * the result.
 *
 * @param maxTokens    documents truncated to this many tokens
 * @param maxDocs      documents read per corpus (0 = all)
 * @param bins         histogram bins of the per-document percentile ranks
 * @param batchTokens  token budget of a packed batch (fixes the packing, hence the floats)
 * @param batchDocs    most documents in a batch
 * @param neurons      also score query/key pairs and value/output neurons (neuron granularity)
 */
public record ScoreSettings(int maxTokens, int maxDocs, int bins, int batchTokens, int batchDocs, boolean neurons) {
    public static final ScoreSettings DEFAULTS = new ScoreSettings(512, 0, 100, 2048, 16, false);

    public ScoreSettings {
        if (maxTokens < 1 || maxDocs < 0 || bins < 1 || batchTokens < 1 || batchDocs < 1) {
            throw new IllegalArgumentException("score settings out of range");
        }
    }

    public Map<String, String> toMap() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("max_tokens", Integer.toString(maxTokens));
        m.put("max_docs", Integer.toString(maxDocs));
        m.put("bins", Integer.toString(bins));
        m.put("batch_tokens", Integer.toString(batchTokens));
        m.put("batch_docs", Integer.toString(batchDocs));
        m.put("neurons", Boolean.toString(neurons));
        return m;
    }

    public static ScoreSettings fromMap(Map<String, String> m) {
        return new ScoreSettings(Integer.parseInt(m.get("max_tokens")), Integer.parseInt(m.get("max_docs")),
                Integer.parseInt(m.get("bins")), Integer.parseInt(m.get("batch_tokens")),
                Integer.parseInt(m.get("batch_docs")), Boolean.parseBoolean(m.get("neurons")));
    }
}
