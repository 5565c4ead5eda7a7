package io.cusprun.vocab;

import io.cusprun.SettingException;
import io.cusprun.corpus.CorpusKind;
import io.cusprun.corpus.CorpusSpec;
import java.util.List;

/**
 * What {@code prune --trim-vocab} keeps of the vocabulary (docs/vocabulary.md).
 *
 * @param corpora  the corpora whose tokens are kept; empty: the expert's language corpora, or
 *                 every expert corpus when none is of kind language
 * @param minCount a token is kept when these corpora, tokenized whole, produce it at least this
 *                 often (special tokens, the base alphabet and the merge closure are kept whatever their count)
 */
public record VocabTrimSettings(List<CorpusSpec> corpora, int minCount) {

    /** The expert's language corpora, every token they produce. */
    public static final VocabTrimSettings DEFAULTS = new VocabTrimSettings(List.of(), 1);

    public VocabTrimSettings {
        corpora = List.copyOf(corpora);
        if (minCount < 1) {
            throw new SettingException("vocabMinCount", "must be at least 1, not " + minCount);
        }
    }

    public VocabTrimSettings withCorpora(List<CorpusSpec> c) {
        return new VocabTrimSettings(c, minCount);
    }

    public VocabTrimSettings withMinCount(int n) {
        return new VocabTrimSettings(corpora, n);
    }

    /** The corpora whose tokens are counted, for an expert scored on {@code expert}. */
    public List<CorpusSpec> corporaFor(List<CorpusSpec> expert) {
        if (!corpora.isEmpty()) {
            return corpora;
        }
        List<CorpusSpec> language =
                expert.stream().filter(c -> c.kind() == CorpusKind.LANGUAGE).toList();
        List<CorpusSpec> chosen = language.isEmpty() ? expert : language;
        if (chosen.isEmpty()) {
            throw new SettingException(
                    "vocabCorpora", "must be given to trim the vocabulary when there are no expert corpora");
        }
        return chosen;
    }
}
