package io.cusprun.corpus;

/** Turns a document's text into token ids (the model's tokenizer, special tokens included as it adds them). */
@FunctionalInterface
public interface TokenEncoder {
    long[] encode(String text);
}
