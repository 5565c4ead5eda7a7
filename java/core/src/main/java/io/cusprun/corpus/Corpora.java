package io.cusprun.corpus;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.OptionalInt;
import java.util.Set;

/** Parses and loads the {@code --corpus KIND:NAME=PATH} arguments of a command. */
public final class Corpora {
    private Corpora() {}

    /** Parses every spec and checks paths exist and names are unique (one-line errors). */
    public static List<CorpusSpec> parse(String[] args) {
        List<CorpusSpec> specs = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (String a : args == null ? new String[0] : args) {
            CorpusSpec s = CorpusSpec.parse(a);
            if (!names.add(s.name())) throw new IllegalArgumentException("corpus name '" + s.name() + "' given twice");
            specs.add(s);
        }
        return specs;
    }

    /** Each corpus' first {@code maxDocs} documents (all when empty), truncated to {@code maxTokens}. */
    public static List<TokenizedCorpus> load(
            List<CorpusSpec> specs, TokenEncoder encoder, int maxTokens, OptionalInt maxDocs) throws IOException {
        List<TokenizedCorpus> out = new ArrayList<>();
        for (CorpusSpec s : specs) out.add(TokenizedCorpus.load(s, encoder, maxTokens, maxDocs.orElse(0)));
        return out;
    }

    /** Every corpus resampled with {@link TokenizedCorpus#sample} from one seed. */
    public static List<TokenizedCorpus> sample(
            List<CorpusSpec> specs, TokenEncoder encoder, int maxTokens, OptionalInt maxDocs, long seed)
            throws IOException {
        List<TokenizedCorpus> out = new ArrayList<>();
        for (CorpusSpec s : specs) out.add(TokenizedCorpus.sample(s, encoder, maxTokens, maxDocs.orElse(0), seed));
        return out;
    }
}
