package io.cusprun.corpus;

import java.util.Arrays;

/** Turns a document's text into token ids (the model's tokenizer, special tokens included as it adds them). */
@FunctionalInterface
public interface TokenEncoder {
    long[] encode(String text);

    /**
     * The first {@code maxTokens} ids of {@link #encode}{@code (text)} (all when there are fewer).
     * Tokenizers that can, encode only a prefix of the text long enough to give the same ids
     * (memory and time bounded by {@code maxTokens}, not by the document).
     */
    default long[] encodeFirst(String text, int maxTokens) {
        long[] ids = encode(text);
        return ids.length > maxTokens ? Arrays.copyOf(ids, maxTokens) : ids;
    }

    /**
     * How many leading characters of a document {@link #encodeFirst} may look at for {@code
     * maxTokens} ids; readers may drop the rest. {@link Integer#MAX_VALUE}: the whole document.
     */
    default int charsNeeded(int maxTokens) {
        return Integer.MAX_VALUE;
    }
}
