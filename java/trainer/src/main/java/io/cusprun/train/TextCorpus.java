package io.cusprun.train;

import io.cusprun.corpus.DocumentReader;
import io.cusprun.model.TextTokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** The documents of a JSONL corpus: one object per line with a string field {@code text}. */
public final class TextCorpus {

    private TextCorpus() {}

    /** The documents of a corpus file (read by the scorer's {@link DocumentReader}); none is an error. */
    public static List<String> read(Path file) throws IOException {
        List<String> texts = DocumentReader.read(file, 0);
        if (texts.isEmpty()) {
            throw new IOException(file + ": no documents");
        }
        return texts;
    }

    /** Each text encoded with BOS first (as the tokenizer says) and, when {@code eos} is given, EOS last. */
    public static List<long[]> tokenize(List<String> texts, TextTokenizer tokenizer, Long eos) {
        List<long[]> docs = new ArrayList<>(texts.size());
        for (String t : texts) {
            long[] ids = tokenizer.encode(t, true);
            if (eos != null) {
                ids = Arrays.copyOf(ids, ids.length + 1);
                ids[ids.length - 1] = eos;
            }
            docs.add(ids);
        }
        return docs;
    }
}
