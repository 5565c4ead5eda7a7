package io.cusprun.score;

import io.cusprun.corpus.CorpusKind;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * The rank statistics of one corpus: one accumulator per (layer, module).
 *
 * @param kind      the corpus' dimension
 * @param name      the corpus' name (prefix of its tensors in a score file)
 * @param documents documents scored
 * @param tokens    tokens scored
 * @param modules   accumulators by module
 */
public record CorpusScores(
        CorpusKind kind, String name, long documents, long tokens, Map<ModuleKey, RankAccumulator> modules) {

    public CorpusScores {
        modules = Collections.unmodifiableMap(new TreeMap<>(modules));
    }

    public RankAccumulator module(int layer, ModuleKind kind) {
        RankAccumulator a = modules.get(new ModuleKey(layer, kind));
        if (a == null)
            throw new IllegalArgumentException("corpus " + name + " has no scores for " + kind + " of layer " + layer);
        return a;
    }

    /** The bytes its accumulators take on the heap ({@link RankAccumulator#heapBytes}). */
    public long heapBytes() {
        return modules.values().stream().mapToLong(RankAccumulator::heapBytes).sum();
    }

    public boolean has(ModuleKind kind) {
        return modules.keySet().stream().anyMatch(k -> k.kind() == kind);
    }

    /** Exact combination of two disjoint parts of the same corpus. */
    public CorpusScores merge(CorpusScores other) {
        if (!other.name.equals(name) || other.kind != kind) {
            throw new IllegalArgumentException("cannot merge scores of corpus " + name + " with " + other.name);
        }
        if (other.documents == 0) return new CorpusScores(kind, name, documents, tokens + other.tokens, modules);
        if (documents == 0) return new CorpusScores(kind, name, other.documents, tokens + other.tokens, other.modules);
        if (!other.modules.keySet().equals(modules.keySet())) {
            throw new IllegalArgumentException("scores of corpus " + name + " cover different modules");
        }
        Map<ModuleKey, RankAccumulator> m = new TreeMap<>();
        modules.forEach((k, a) -> {
            RankAccumulator c = a.copy();
            c.merge(other.modules.get(k));
            m.put(k, c);
        });
        return new CorpusScores(kind, name, documents + other.documents, tokens + other.tokens, m);
    }

    public boolean sameAs(CorpusScores o) {
        if (!o.name.equals(name)
                || o.kind != kind
                || o.documents != documents
                || o.tokens != tokens
                || !o.modules.keySet().equals(modules.keySet())) return false;
        return modules.entrySet().stream().allMatch(e -> e.getValue().sameAs(o.modules.get(e.getKey())));
    }
}
