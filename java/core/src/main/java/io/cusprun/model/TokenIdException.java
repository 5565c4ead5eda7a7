package io.cusprun.model;

/**
 * A token id outside the model's vocabulary: the data (a tokenizer that does not belong to the
 * model, or a file of token ids) does not fit the model. Front ends report it as a failure of the
 * input, the same way wherever the ids came from.
 */
public final class TokenIdException extends IllegalArgumentException {
    public TokenIdException(String message) {
        super(message);
    }
}
